release "exactly-once" {}
currency "gems" {}
action "combat.kill" { target = string }
action "player.profile" { level = int }
event "hunt" {
  title = "Hunt"
  schedule {
    start    = "2026-11-22T00:00:00Z"
    duration = "7d"
  }
  objective "dragons" {
    on     = "combat.kill"
    when   = action.target == "dragon"
    points = 5
  }
  tier "t10" {
    at     = 10
    reward = { gems = 1 }
  }
  tier "t20" {
    at     = 20
    reward = { gems = 2 }
  }
  tier "t35" {
    at     = 35
    reward = { gems = 3 }
  }
  tier "t60" {
    at     = 60
    reward = { gems = 4 }
  }
}
