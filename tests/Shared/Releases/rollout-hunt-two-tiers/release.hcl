release "rollout-restart" {}
currency "gems" {}
action "combat.kill" { target = string }
event "hunt" {
  title = "Hunt"
  {{#keep_earned}}migration = "keep_earned"{{/keep_earned}}
  schedule {
    start    = "2026-11-22T00:00:00Z"
    duration = "1d"
  }
  objective "kills" {
    on     = "combat.kill"
    points = 5
  }
  tier "first" {
    at     = 5
    reward = { gems = {{gems}} }
  }
  tier "second" {
    at     = 10
    reward = { gems = {{gems * 2}} }
  }
}
