release "audit-crash" {}
currency "gems" {}
action "noop" {}
