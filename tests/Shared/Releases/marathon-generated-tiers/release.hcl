release "crash-grants" {}
currency "gems" {}
action "combat.kill" { target = string }
event "marathon" {
  title = "Marathon"
  schedule {
    start    = "{{start}}"
    duration = "30d"
  }
  objective "dragons" {
    on     = "combat.kill"
    when   = action.target == "dragon"
    points = 5
  }
{{tiers}}
  leaderboard {
    prize "1" { reward = { gems = 1 } }
  }
}
