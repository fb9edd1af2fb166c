release "rollout-hunt" {}
currency "gems" {}
action "combat.kill" { target = string }
safety_bounds { max_currency_per_grant = { gems = 5000 } }
event "hunt" {
  title = "{{title}}"
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
}
