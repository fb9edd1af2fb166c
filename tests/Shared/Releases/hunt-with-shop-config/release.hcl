release "flags-api" {}
currency "gems" {}
action "combat.kill" { target = string }
config "shop" {
  discount = 0
}
event "hunt" {
  title = "Hunt"
  schedule {
    start    = "2026-11-22T00:00:00Z"
    duration = "1d"
  }
  objective "kills" {
    on     = "combat.kill"
    points = 5
  }
  tier "first" {
    at     = 5
    reward = { gems = 10 }
  }
  tier "second" {
    at     = 10
    reward = { gems = 20 }
  }
  config_override "shop" {
    discount = 30
  }
}
