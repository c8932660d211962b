package lab

import _ "embed"

// LoginGuard is the shell snippet every node script that changes the
// attendee login runs first, with the login in $U: it exits 3, before
// anything changed, when $U exists as a system account (UID below 1000)
// or with a home that is not a plain directory right under /home.
// (nodeprep's login step and reset's scripts both run it.)
//
//go:embed login-guard.sh
var LoginGuard string
