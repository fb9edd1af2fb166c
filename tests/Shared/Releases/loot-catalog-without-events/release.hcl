release "r" {}
currency "gems" {}
item "sword" {}
action "loot.open" {
  chest_tier = int
  zone = optional(string, "any")
}
