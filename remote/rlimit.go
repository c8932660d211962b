package remote

import (
	"fmt"
	"syscall"
)

// RaiseFileLimit raises this process's soft limit on open files
// (RLIMIT_NOFILE) to the hard limit when it is lower, as instructors are
// told to do by hand before driving a class, and says what the limit is
// and how many hosts it lets the engine drive at once: each host holds one
// descriptor for its connection and, while it logs, one for its log file.
func RaiseFileLimit() string {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return fmt.Sprintf("open-file limit unknown: %v", err)
	}
	raised := ""
	if r.Cur < r.Max {
		old := r.Cur
		r.Cur = r.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			return fmt.Sprintf("open-file limit %d (raising it to %d: %v): enough for about %d hosts", old, r.Max, err, hostsFor(old))
		}
		raised = fmt.Sprintf(" (raised from %d)", old)
	}
	return fmt.Sprintf("open-file limit %d%s: enough for about %d hosts", r.Cur, raised, hostsFor(r.Cur))
}

// hostsFor is how many hosts n descriptors serve, 64 kept for the rest.
func hostsFor(n uint64) uint64 {
	if n < 64 {
		return 0
	}
	return (n - 64) / 2
}
