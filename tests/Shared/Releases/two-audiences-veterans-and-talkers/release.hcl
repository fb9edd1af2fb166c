release "r" {}
action "hit" {
  n = int
}
action "chat" {
  text = string
}
event "veterans" {
  schedule {
    start    = "2025-07-24T16:00:00Z"
    duration = "7d"
  }
  audience {
    when = player.level >= 10
  }
  objective "hits" {
    on = "hit"
    points = action.n
  }
}
event "talkers" {
  schedule {
    start    = "2025-07-24T16:00:00Z"
    duration = "7d"
  }
  audience {
    when = player.region == "eu"
  }
  objective "chats" {
    on = "chat"
    points = 1
  }
}
