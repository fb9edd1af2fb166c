release "state" {}
currency "gems" {}
action "score" { n = int }
action "player.profile" { level = int }
event "ev" {
  title = "Ev"
  schedule {
    start    = "2026-11-22T00:00:00Z"
    duration = "2d"
  }
  audience { when = player.level >= 1 }
  objective "n" {
    on     = "score"
    points = action.n
    {{max_per_hour}}
  }
  {{tiers}}
  leaderboard {
    prize "1" { reward = { gems = 9 } }
  }
}
