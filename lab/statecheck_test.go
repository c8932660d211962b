package lab

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/labctl/labctl/internal/touched"
)

// labDir makes a state directory as `labctl up` of lab name leaves it:
// marker, logs/, lock and a saved state.
func labDir(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	st, err := Open(dir, name, 0, "up")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(&State{Lab: name, Clusters: []Cluster{{Index: 1}}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	os.WriteFile(filepath.Join(dir, "lock"), []byte("pid 1, labctl up of "+name+"\n"), 0o600)
	return dir
}

// Another lab's state directory, or one whose state.json labctl cannot
// read, is refused by Open and OpenDryRun before anything in it is
// created, written or chmod-ed: once, destroy with lab A's file made
// logs/ and rewrote the lock note in lab B's directory before refusing.
func TestOpenRefusesBeforeWriting(t *testing.T) {
	replace := func(make func(path string) error) func(string) error {
		return func(dir string) error {
			p := filepath.Join(dir, stateFile)
			os.Remove(p)
			return make(p)
		}
	}
	content := func(s string) func(string) error {
		return replace(func(p string) error { return os.WriteFile(p, []byte(s), 0o600) })
	}
	for _, c := range []struct {
		name  string
		spoil func(dir string) error
		is    error
		want  string
	}{
		{"another lab's", func(string) error { return nil }, ErrStateDir, `it holds the state of lab "lab-b", not of "lab-a"`},
		{"another lab's, logs/ gone", func(dir string) error { return os.RemoveAll(filepath.Join(dir, "logs")) }, ErrStateDir, `not of "lab-a"`},
		{"a link to /dev/zero", replace(func(p string) error { return os.Symlink("/dev/zero", p) }), ErrBadState, "a symbolic link, not the file labctl wrote"},
		{"a FIFO", replace(func(p string) error { return syscall.Mkfifo(p, 0o600) }), ErrBadState, "not a regular file (a named pipe)"},
		{"100 MB of zeros", replace(func(p string) error {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				return err
			}
			return os.Truncate(p, 100<<20)
		}), ErrBadState, "larger than 64 MiB"},
		{"not JSON", content("state: yes\n"), ErrBadState, "is damaged: invalid character"},
		{"JSON of another shape", content(`{"version": 1, "clusters": {"1": "x"}}`), ErrBadState, "is damaged: json: cannot unmarshal object"},
		{"a JSON array", content(`[1, 2]`), ErrBadState, "is damaged: json: cannot unmarshal array"},
		{"JSON without a version", content(`{"hello": "world"}`), ErrBadState, "has version 0; this labctl reads version 1"},
		{"null", content(`null`), ErrBadState, "has version 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := labDir(t, "lab-b")
			if err := c.spoil(dir); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(filepath.Join(dir, "lock"))
			stamp := touched.Now(t)
			for _, open := range []struct {
				name string
				f    func(dir, name string, wait time.Duration, purpose string) (*Store, error)
			}{{"Open", Open}, {"OpenDryRun", OpenDryRun}} {
				start := time.Now()
				st, err := open.f(dir, "lab-a", 0, "labctl destroy")
				if err == nil {
					st.Close()
				}
				if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("%s: want one line with %q (%v), got %v", open.name, c.want, c.is, err)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("%s took %s", open.name, d)
				}
			}
			if changed := touched.Since(t, stamp, dir); len(changed) > 0 {
				t.Fatalf("a refused directory was changed: %v", changed)
			}
			if after, _ := os.ReadFile(filepath.Join(dir, "lock")); string(after) != string(before) {
				t.Fatalf("lock note rewritten: %q", after)
			}
		})
	}
}

// The state is checked again under the lock: a state that became another
// lab's between Open and Load is refused.
func TestLoadChecksTheLab(t *testing.T) {
	dir := labDir(t, "lab-a")
	st, err := Open(dir, "lab-a", 0, "up")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := WriteFileAtomic(filepath.Join(dir, stateFile), []byte(`{"version": 1, "lab": "lab-b"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(); !errors.Is(err, ErrStateDir) || !strings.Contains(err.Error(), `not of "lab-a"`) {
		t.Fatalf("got %v", err)
	}
}
