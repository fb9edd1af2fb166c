release "metrics" {}
currency "gems" {}
item "blade" {}
action "combat.kill" { target = string }
event "hunt" {
  title = "Hunt"
  schedule {
    start    = "{{start}}"
    duration = "1d"
  }
  objective "dragons" {
    on     = "combat.kill"
    when   = action.target == "dragon"
    points = 5
  }
  tier "bronze" {
    at     = 10
    reward = { gems = 50 }
  }
  tier "silver" {
    at     = 20
    reward = { gems = 200, blade = 1 }
  }
}
