release "summer-week-1" {
  description = "Crystal Caves treasure hunt"
}
currency "gems" {}
item "crystal_blade" {}

action "combat.kill" {
  target = string
  zone   = string
}
action "loot.open" {
  chest_tier = int
}

safety_bounds {
  max_points_per_action = 100
  max_currency_per_grant = { gems = 5000 }
}

config "spawn" {
  region         = "crystal_caves"
  base_rate      = 12
  max_concurrent = 45
  cooldown_ms    = 8000
}

event "crystal_caves_hunt" {
  title = "Crystal Caves Treasure Hunt"
  schedule {
    start = "2025-07-24T16:00:00Z"
    end   = "2025-07-31T16:00:00Z"
    grace = "48h"
  }
  audience {
    when = player.level >= 10 && player.region in ["eu", "na"]
  }
  objective "dragons" {
    on     = "combat.kill"
    when   = action.target == "dragon" && action.zone == "crystal_caves"
    points = 5
  }
  objective "treasure" {
    on           = "loot.open"
    when         = action.chest_tier >= 3
    points       = action.chest_tier * 2
    max_per_hour = 60
  }
  tier "bronze" {
    at     = 50
    reward = { gems = 50 }
  }
  tier "silver" {
    at     = 250
    reward = { gems = 200, crystal_blade = 1 }
  }
  leaderboard {
    prize "1"      { reward = { gems = 1000 } }
    prize "2-10"   { reward = { gems = 500 } }
    prize "11-100" { reward = { gems = 100 } }
  }
  community_goal {
    target = 1000000
    reward = { gems = 100 }
  }
}
