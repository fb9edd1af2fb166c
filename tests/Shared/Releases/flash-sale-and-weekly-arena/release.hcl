release "lifecycle" {}
action "shop.buy" { price = int }
currency "gems" {}
event "flash_sale" {
  title = "Flash sale"
  schedule {
    start    = "2026-11-22T13:00:00Z"
    duration = "2h"
    grace    = "1h"
  }
  objective "buy" {
    on     = "shop.buy"
    points = 1
  }
  tier "one" {
    at     = 1
    reward = { gems = 1 }
  }
}
event "arena" {
  title = "Arena"
  schedule {
    start    = "2026-11-20T18:00:00Z"
    duration = "2d"
    every    = "7d"
    grace    = "6h"
  }
  objective "buy" {
    on     = "shop.buy"
    points = 1
  }
  leaderboard {
    prize "1" { reward = { gems = 10 } }
  }
}
