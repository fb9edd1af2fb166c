release "shop-{{tag}}" { description = "{{tag}}" }
action "shop.buy" {
  price = int
  coupon = optional(string, "")
}
config "shop" {
  discount = 0
  banner   = "none"
}
event "black_friday" {
  title = "Black Friday"
  schedule {
    start = "2026-11-21T00:00:00Z"
    end   = "2026-11-24T00:00:00Z"
  }
  audience { when = player.level >= 10 }
  objective "buy" {
    on     = "shop.buy"
    points = {{points}}
  }
  config_override "shop" {
    discount = 30
    banner   = "black-friday"
  }
}
