release "casino" {}
action "player.profile" { vip = optional(bool, false) }
action "casino.spin" { stake = int }
config "casino" {
  bonus = 1.0
  max_stake = 5000
  jackpot = false
  theme = "classic"
}
config "shop" { sale = false }
event "weekend" {
  title = "Weekend"
  schedule {
    start = "2026-08-08T16:00:00Z"
    end   = "2026-08-10T16:00:00Z"
  }
  audience { when = player.level >= 20 }
  objective "spins" {
    on     = "casino.spin"
    points = 1
  }
  config_override "casino" {
    bonus   = 1.5
    jackpot = true
  }
}
event "zz_vip_night" {
  title = "VIP night"
  schedule {
    start    = "2026-08-03T20:00:00Z"
    duration = "4h"
    every    = "24h"
  }
  audience { when = player.vip }
  objective "spins" {
    on     = "casino.spin"
    points = 1
  }
  config_override "casino" { bonus = 2.0 }
}
event "global_sale" {
  title = "Sale"
  schedule {
    start = "2026-08-09T00:00:00Z"
    end   = "2026-08-09T12:00:00Z"
  }
  objective "spins" {
    on     = "casino.spin"
    points = 1
  }
  config_override "shop" { sale = true }
}
