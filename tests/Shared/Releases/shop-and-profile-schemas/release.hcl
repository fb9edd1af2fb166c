release "r" {}
action "shop.buy" {
  item     = string
  price    = int
  discount = optional(decimal, 0.5)
  gift     = optional(bool, false)
}
action "player.profile" {
  vip = optional(bool, false)
}
