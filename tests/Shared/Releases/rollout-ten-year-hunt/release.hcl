release "cli-rollout" {}
currency "gems" {}
action "combat.kill" { target = string }
event "hunt" {
  title = "{{title}}"
  schedule {
    start    = "2026-01-01T00:00:00Z"
    duration = "3650d"
  }
  objective "kills" {
    on     = "combat.kill"
    points = 5
  }
  tier "first" {
    at     = 5
    reward = { gems = 10 }
  }
}
