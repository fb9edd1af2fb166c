release "daily" {}
currency "gems" {}
action "combat.kill" { target = string }
event "daily_dragons" {
  title = "Daily"
  schedule {
    start    = "2026-01-01T00:00:00Z"
    duration = "23h"
    every    = "24h"
    grace    = "1h"
  }
  objective "dragons" {
    on     = "combat.kill"
    points = 10
  }
  tier "first_blood" {
    at     = 10
    reward = { gems = 5 }
  }
  leaderboard {
    prize "1"    { reward = { gems = 500 } }
    prize "2-10" { reward = { gems = 100 } }
  }
  community_goal {
    target = 30
    reward = { gems = 10 }
  }
}
