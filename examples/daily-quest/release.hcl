# A daily quest that is always running: a new run starts every day at 00:00 UTC and lasts 23
# hours, then an hour of grace before its leaderboard prizes are paid. Tiers reward steady play,
# the daily top 10 win prizes, and the whole server shares a daily goal.
release "daily-dragons" {
  description = "Daily dragon hunt: tiers, a daily leaderboard and a server-wide goal"
}

currency "gems" {}
item "dragon_egg" {}

action "combat.kill" {
  target = string
  zone   = string
}

safety_bounds {
  max_points_per_action  = 50
  max_currency_per_grant = { gems = 5000 }
}

event "daily_dragons" {
  title = "Daily Dragon Hunt"
  schedule {
    start    = "2026-01-01T00:00:00Z"
    duration = "23h"
    every    = "24h"
    grace    = "1h"
  }
  objective "dragons" {
    on           = "combat.kill"
    when         = action.target == "dragon"
    points       = 10
    max_per_hour = 500
  }
  tier "first_blood" {
    at     = 10
    reward = { gems = 5 }
  }
  tier "hunter" {
    at     = 50
    reward = { gems = 25 }
  }
  tier "slayer" {
    at     = 200
    reward = { gems = 100, dragon_egg = 1 }
  }
  leaderboard {
    prize "1"    { reward = { gems = 500 } }
    prize "2-10" { reward = { gems = 100 } }
  }
  community_goal {
    target = 100000
    reward = { gems = 10 }
  }
}
