package remote_test

import (
	"strings"
	"syscall"
	"testing"

	"github.com/labctl/labctl/remote"
)

func TestRaiseFileLimit(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	if orig.Max < 1024 {
		t.Skipf("hard open-file limit %d: too low to lower the soft one", orig.Max)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	low := syscall.Rlimit{Cur: 256, Max: orig.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	msg := remote.RaiseFileLimit()
	var now syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now)
	if now.Cur != orig.Max || !strings.Contains(msg, "raised from 256") {
		t.Fatalf("soft limit %d after %q, want the hard limit %d", now.Cur, msg, orig.Max)
	}
	if msg2 := remote.RaiseFileLimit(); strings.Contains(msg2, "raised") {
		t.Fatalf("nothing to raise the second time, said %q", msg2)
	}
}
