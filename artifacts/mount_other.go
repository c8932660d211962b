//go:build !linux

package artifacts

// unmountUnder has nothing to do where debootstrap cannot run.
func unmountUnder(string) {}
