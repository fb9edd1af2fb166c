release "deliver" {}
currency "gems" {}
action "combat.kill" { target = string }
event "hunt" {
  title = "Hunt"
  schedule {
    start    = "2026-11-22T00:00:00Z"
    duration = "7d"
  }
  objective "dragons" {
    on     = "combat.kill"
    points = 5
  }
  tier "first" {
    at     = 5
    reward = { gems = 1 }
  }
  tier "second" {
    at     = 10
    reward = { gems = 2 }
  }
}
