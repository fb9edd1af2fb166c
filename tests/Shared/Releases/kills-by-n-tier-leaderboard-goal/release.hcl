release "r" {}
currency "gems" {}
action "kill" { n = int }
event "hunt" {
  title = "Hunt"
  schedule {
    start    = "2026-01-01T00:00:00Z"
    duration = "1d"
  }
  objective "kills" {
    on     = "kill"
    points = action.n
  }
  tier "bronze" {
    at     = 10
    reward = { gems = 50 }
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
