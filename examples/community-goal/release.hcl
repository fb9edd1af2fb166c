# A server-wide goal: every tree felled by any player counts toward ten million. If the world
# gets there before the event ends, everyone who took part receives the reward, once.
release "great-harvest" {
  description = "Community goal: fell ten million trees together"
}

currency "coins" {}
item "golden_axe" {}

action "gather.wood" {
  amount = int
  biome  = string
}

action "player.profile" {
  guild_member = bool
}

safety_bounds {
  max_points_per_action  = 100
  max_currency_per_grant = { coins = 10000 }
}

event "great_harvest" {
  title = "The Great Harvest"
  schedule {
    start    = "2025-08-01T00:00:00Z"
    duration = "14d"
    grace    = "72h"
  }
  objective "wood" {
    on     = "gather.wood"
    when   = action.amount > 0
    points = min(action.amount, 100)
  }
  objective "guild_bonus" {
    on     = "gather.wood"
    when   = player.guild_member && action.biome in ["taiga", "jungle"]
    points = 5
  }
  tier "helper" {
    at     = 500
    reward = { coins = 250 }
  }
  tier "lumberjack" {
    at     = 5000
    reward = { coins = 2500, golden_axe = 1 }
  }
  community_goal {
    target = 10000000
    reward = { coins = 1000 }
  }
}
