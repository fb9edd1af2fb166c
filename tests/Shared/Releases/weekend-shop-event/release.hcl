release "live" {}
action "shop.buy" { price = int }
event "weekend" {
  title = "Weekend"
  schedule {
    start = "2026-11-21T00:00:00Z"
    end   = "2026-11-23T00:00:00Z"
  }
  objective "buy" {
    on     = "shop.buy"
    points = 1
  }
}
