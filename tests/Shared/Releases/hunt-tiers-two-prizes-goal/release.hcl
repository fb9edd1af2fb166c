release "live-api" {}
currency "gems" {}
item "blade" {}
action "combat.kill" { target = string }
safety_bounds { max_currency_per_grant = { gems = 5000 } }
event "hunt" {
  title = "Hunt"
  schedule {
    start    = "2026-11-22T00:00:00Z"
    duration = "1d"
  }
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
  community_goal {
    target = 30
    reward = { gems = 7 }
  }
}
