package remote

// SudoAlways makes e run every command through sudo, as it does for a
// login that is not root: the tests log in as root, the only user whose
// sudo needs no password on a test machine.
func SudoAlways(e *Engine) { e.sudoAlways = true }
