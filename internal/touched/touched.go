// Package touched tells a test what a command created, wrote, removed or
// chmod-ed under some directories: every path whose inode changed (ctime)
// since a stamp. Imported by tests only.
package touched

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"
)

// Stamp is a moment on the filesystem's clock: the change time of a file
// written just after everything set up before it.
type Stamp struct{ sec, nsec int64 }

// Now takes a stamp, after a pause longer than the kernel's timestamp
// granularity, so that nothing set up before it counts as changed after.
func Now(t testing.TB) Stamp {
	t.Helper()
	time.Sleep(30 * time.Millisecond)
	f, err := os.CreateTemp("", "touched-stamp-*")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	s, err := ctime(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Since lists the paths under roots (roots included) whose inode changed
// at or after the stamp: created, written, renamed over, chmod-ed, or a
// directory whose entries were added or removed.
func Since(t testing.TB, s Stamp, roots ...string) []string {
	t.Helper()
	var out []string
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			c, err := ctime(path)
			if err != nil {
				return err
			}
			if c.sec > s.sec || (c.sec == s.sec && c.nsec >= s.nsec) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}

func ctime(path string) (Stamp, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return Stamp{}, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	return Stamp{sec: st.Ctim.Sec, nsec: st.Ctim.Nsec}, nil
}
