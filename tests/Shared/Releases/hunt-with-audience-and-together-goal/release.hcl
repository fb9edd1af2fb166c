release "live" {}
currency "gems" {}
item "blade" {}
action "combat.kill" { target = string }
action "player.profile" { level = int }
safety_bounds { max_points_per_action = 50 }
event "hunt" {
  title = "Hunt"
  schedule {
    start    = "2026-11-22T00:00:00Z"
    duration = "1d"
    grace    = "1h"
  }
  audience { when = player.level >= 10 }
  objective "dragons" {
    on     = "combat.kill"
    when   = action.target == "dragon"
    points = 5
  }
  tier "bronze" {
    at     = 10
    reward = { gems = 50 }
  }
  tier "silver" {
    at     = 20
    reward = { gems = 200, blade = 1 }
  }
  leaderboard {
    prize "1"   { reward = { gems = 1000 } }
    prize "2-3" { reward = { gems = 500 } }
  }
}
event "together" {
  title = "Together"
  schedule {
    start    = "2026-11-22T00:00:00Z"
    duration = "1d"
  }
  objective "kills" {
    on     = "combat.kill"
    points = 1
  }
  community_goal {
    target = 5
    reward = { gems = 7 }
  }
}
