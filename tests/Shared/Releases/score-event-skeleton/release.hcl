release "test" {}
currency "gems" {}
action "score" {
  a = int
  b = int
}
{{bounds}}
event "ev" {
  schedule {
    {{schedule}}
  }
  {{event_body}}
}
