release "r-{{tag}}" { description = "{{tag}}" }
action "shop.buy" { price = int }
event "sale" {
  title = "Sale"
  schedule {
    start = "{{start}}"
    duration = "30d"
  }
  objective "buy" {
    on     = "shop.buy"
    points = {{points}}
  }
}
