# A casino weekend: while it runs, the casino config pays a higher bonus and allows larger
# tables; the override ends with the event. Spins at high stakes earn points toward tiers.
release "casino-weekend-aug" {
  description = "High-roller weekend with boosted casino settings"
}

currency "chips" {}
currency "gems" {}
item "lucky_charm" {}

action "casino.spin" {
  stake   = int
  game    = string
  outcome = string   # "win" or "loss"
  payout  = optional(int, 0)
}

safety_bounds {
  max_points_per_action  = 25
  max_currency_per_grant = { chips = 50000, gems = 500 }
}

config "casino" {
  bonus_multiplier = 1.0
  max_table_stake  = 5000
  daily_spin_limit = 200
  jackpot_enabled  = false
}

event "high_roller_weekend" {
  title = "High Roller Weekend"
  schedule {
    start = "2025-08-08T16:00:00Z"
    end   = "2025-08-11T04:00:00Z"
    grace = "12h"
  }
  audience {
    when = player.level >= 20 && !(player.country in ["nl", "be"])
  }
  objective "big_spins" {
    on           = "casino.spin"
    when         = action.stake >= 500
    points       = action.stake >= 2000 ? 25 : 5
    max_per_hour = 300
  }
  tier "bronze" {
    at     = 100
    reward = { chips = 5000 }
  }
  tier "gold" {
    at     = 1000
    reward = { chips = 40000, gems = 100, lucky_charm = 1 }
  }
  config_override "casino" {
    bonus_multiplier = 1.5
    max_table_stake  = 20000
    jackpot_enabled  = true
  }
}
