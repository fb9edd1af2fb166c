release "goal" {}
currency "gems" {}
action "combat.kill" { target = string }
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
    target = 41
    reward = { gems = 7 }
  }
}
