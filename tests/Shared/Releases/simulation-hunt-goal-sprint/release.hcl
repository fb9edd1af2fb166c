release "sim" {}
currency "gems" {}
item "blade" {}
action "combat.kill" { target = string }
event "hunt" {
  title = "Hunt"
  schedule {
    start    = "2026-11-22T00:00:00Z"
    duration = "1d"
    grace    = "1h"
  }
  objective "dragons" {
    on     = "combat.kill"
    when   = action.target == "dragon"
    points = 5
  }
  tier "bronze" {
    at     = 10
    reward = { gems = {{50 * reward_factor}} }
  }
  tier "silver" {
    at     = 20
    reward = { gems = {{200 * reward_factor}}, blade = {{1 * reward_factor}} }
  }
  leaderboard {
    prize "1" { reward = { gems = {{1000 * reward_factor}} } }
  }
}
{{#together}}event "together" {
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
    target = 10
    reward = { gems = {{7 * reward_factor}} }
  }
}{{/together}}
event "sprint" {
  title = "Sprint"
  schedule {
    start    = "2026-11-22T12:00:00Z"
    duration = "90m"
    grace    = "10m"
  }
  objective "kills" {
    on     = "combat.kill"
    points = 1
  }
  leaderboard {
    prize "1"   { reward = { gems = {{300 * reward_factor}} } }
    prize "2-3" { reward = { gems = {{100 * reward_factor}} } }
  }
  {{sprint_extra}}
}
{{extra}}
