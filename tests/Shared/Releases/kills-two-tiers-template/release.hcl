release "r" {}
currency "gems" {}
action "kill" { n = {{schema}} }
event "hunt" {
  title = "Hunt"
  schedule {
    start    = "2026-01-01T00:00:00Z"
    duration = "1d"
  }
  objective "{{objective}}" {
    on     = "kill"
    points = 1
  }
  tier "bronze" {
    at     = 2
    reward = { gems = {{gems}} }
  }
  tier "silver" {
    at     = 4
    reward = { gems = 200 }
  }
}
