release "audited" {}
currency "gems" {}
action "combat.kill" { target = string }
event "hunt" {
  title = "Hunt"
  schedule {
    start    = "2026-11-22T00:00:00Z"
    duration = "1d"
  }
  objective "dragons" {
    on     = "combat.kill"
    points = 5
  }
  tier "bronze" {
    at     = 10
    reward = { gems = 50 }
  }
}
