# A tournament that runs every week: each Friday 18:00 UTC to Monday 06:00 UTC is one run,
# with its own leaderboard and prizes; players have 24 hours after a run to claim.
release "arena-weekly" {
  description = "Weekend arena tournament, every week"
}

currency "gold" {}
currency "gems" {}
item "arena_banner" {}
item "champion_title" {}

action "match.finished" {
  result = string       # "win", "loss" or "draw"
  mode   = string       # "ranked" or "casual"
  kills  = int
  mvp    = optional(bool, false)
}

safety_bounds {
  max_points_per_action  = 50
  max_currency_per_grant = { gold = 100000, gems = 2000 }
}

event "arena_weekend" {
  title = "Arena Weekend"
  schedule {
    start = "2025-07-25T18:00:00Z"
    end   = "2025-07-28T06:00:00Z"
    every = "7d"
    grace = "24h"
  }
  audience {
    when = player.level >= 15
  }
  objective "ranked_wins" {
    on     = "match.finished"
    when   = action.mode == "ranked" && action.result == "win"
    points = action.mvp ? 15 : 10
  }
  objective "kills" {
    on           = "match.finished"
    when         = action.mode == "ranked"
    points       = clamp(action.kills, 0, 20)
    max_per_hour = 120
  }
  tier "participant" {
    at     = 30
    reward = { gold = 500 }
  }
  tier "contender" {
    at     = 200
    reward = { gold = 2500, arena_banner = 1 }
  }
  leaderboard {
    prize "1"       { reward = { gems = 2000, champion_title = 1 } }
    prize "2-3"     { reward = { gems = 1000 } }
    prize "4-50"    { reward = { gems = 250 } }
    prize "51-1000" { reward = { gold = 5000 } }
  }
}
