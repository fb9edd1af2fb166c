release "r" {}
action "hit" {
  n = int
  d = int
}

