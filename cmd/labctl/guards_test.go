package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/labctl/labctl/internal/touched"
	"github.com/labctl/labctl/lab"
)

// writeLab writes a lab file and a state directory holding a saved state
// of lab stateLab with n clusters, as `labctl up` would have left it.
func writeLab(t *testing.T, name, stateLab string, n int) (file, state string) {
	t.Helper()
	dir := t.TempDir()
	file = filepath.Join(dir, "lab.yaml")
	os.WriteFile(file, []byte("name: "+name+"\n"), 0o644)
	state = filepath.Join(dir, "state")
	st, err := lab.Open(state, stateLab, 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	s := &lab.State{Lab: stateLab, Provider: lab.ProviderState{Type: "inventory"}}
	for i := 1; i <= n; i++ {
		s.Clusters = append(s.Clusters, lab.Cluster{Index: i})
	}
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	st.Close()
	return file, state
}

func oneLine(t *testing.T, out string, code int, want string) {
	t.Helper()
	if code != exitBadInput || !strings.Contains(out, want) || strings.Contains(strings.TrimSpace(out), "\n") {
		t.Fatalf("want one line with %q, exit 2; got %d %q", want, code, out)
	}
}

// Durations that are negative or absurd are refused before anything runs.
func TestDurationFlags(t *testing.T) {
	file, state := writeLab(t, "guards", "guards", 1)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--wait", "-5s", "status"}, "--wait -5s: must not be negative"},
		{[]string{"--wait", "1000000h", "status"}, "--wait 1000000h0m0s: at most 24h0m0s"},
		{[]string{"exec", "--timeout", "-1s", "--", "true"}, "--timeout -1s: must not be negative"},
		{[]string{"exec", "--timeout", "1000000h", "--", "true"}, "--timeout 1000000h0m0s: at most 24h0m0s"},
		{[]string{"status", "--timeout", "1000000h"}, "--timeout 1000000h0m0s: at most 10m0s"},
		{[]string{"status", "--interval", "1000000h", "--watch"}, "--interval 1000000h0m0s: at most 1h0m0s"},
		{[]string{"board", "--timeout", "1000000h"}, "--timeout 1000000h0m0s: at most 10m0s"},
		{[]string{"board", "--interval", "500ms"}, "--interval: must be at least 1s"},
	} {
		out, code := runCLI(t, append([]string{"-f", file, "--state-dir", state}, c.args...)...)
		oneLine(t, out, code, c.want)
	}
}

// A cluster, node or attendee the lab does not have, or destroy without
// --yes and no terminal to ask, is bad input, refused before the lab is
// locked: nothing is removed or written, not even the lock's note.
func TestRefusedBeforeTheLock(t *testing.T) {
	file, state := writeLab(t, "guards", "guards", 1)
	stamp := touched.Now(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"destroy", "--cluster", "9", "--yes"}, "--cluster: lab guards has no cluster 9"},
		{[]string{"destroy"}, "destroy removes every cluster of lab guards (1): pass --yes to confirm"},
		{[]string{"reset", "--cluster", "9", "--yes"}, "--cluster 9: the lab has clusters 1 to 1"},
		{[]string{"reset", "--cluster", "9", "--dry-run"}, "--cluster 9: the lab has clusters 1 to 1"},
		{[]string{"swap", "5", "--yes"}, "ATTENDEE: lab guards has no attendee 5 (attendees 1 to 1)"},
		{[]string{"trust", "--cluster", "9", "--node", "node1"}, "--cluster: lab guards has no cluster 9"},
		{[]string{"trust", "--cluster", "1", "--node", "node7"}, `--node: cluster 1 has no node "node7"`},
		{[]string{"trust", "--bastion"}, "--bastion: lab guards has no pinned bastion key"},
		{[]string{"stop", "--cluster", "9"}, "--cluster 9: the lab has no cluster 9"},
		{[]string{"start", "--cluster", "9"}, "--cluster 9: the lab has no cluster 9"},
	} {
		out, code := runCLI(t, append([]string{"-f", file, "--state-dir", state}, c.args...)...)
		oneLine(t, out, code, c.want)
	}
	if changed := touched.Since(t, stamp, filepath.Dir(file)); len(changed) > 0 {
		t.Fatalf("changed %v", changed)
	}
	if s, err := lab.ReadState(state); err != nil || len(s.Clusters) != 1 {
		t.Fatalf("state changed: %+v %v", s, err)
	}
}

// everyCommand is each command that reads a lab's state, as an instructor
// would type it.
var everyCommand = [][]string{
	{"destroy", "--yes"}, {"destroy", "--yes", "--cluster", "1"}, {"up"}, {"up", "--dry-run"},
	{"up", "--only", "provision"}, {"status"}, {"status", "--json"}, {"cards"}, {"check"},
	{"exec", "--", "true"}, {"ssh", "1"}, {"reset", "--yes"}, {"reset", "--dry-run"},
	{"stop"}, {"start"}, {"swap", "1"}, {"trust", "--cluster", "1", "--node", "node1"},
}

// refusedUntouched runs every command with --state-dir state and checks
// each is refused with one line holding want, exit 2, and that nothing
// under the lab file's directory or HOME was created, written or chmod-ed.
func refusedUntouched(t *testing.T, file, state, want string) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("XDG_CONFIG_HOME", "")
	stamp := touched.Now(t)
	for _, args := range everyCommand {
		start := time.Now()
		out, code := runCLI(t, append([]string{"-f", file, "--state-dir", state}, args...)...)
		oneLine(t, out, code, want)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%v took %s", args, d)
		}
		if changed := touched.Since(t, stamp, filepath.Dir(file), home); len(changed) > 0 {
			t.Fatalf("%v changed %v", args, changed)
		}
	}
}

// A state directory of another lab is refused by every command before it
// writes anything: destroy with lab A's file and lab B's state once
// deleted B's state, and later still made logs/ and rewrote the lock note
// in B's directory before refusing.
func TestStateOfAnotherLab(t *testing.T) {
	file, state := writeLab(t, "lab-a", "lab-b", 1)
	refusedUntouched(t, file, state, `it holds the state of lab "lab-b", not of "lab-a"`)
}

// A state.json that is not the file labctl wrote is bad input for every
// command: one line, exit 2, nothing changed, no hang, no OOM.
func TestBrokenStateIsBadInput(t *testing.T) {
	for _, c := range []struct {
		name string
		make func(path string) error
		want string
	}{
		{"a link to /dev/zero", func(p string) error { return os.Symlink("/dev/zero", p) }, "a symbolic link, not the file labctl wrote"},
		{"a FIFO", func(p string) error { return syscall.Mkfifo(p, 0o600) }, "not a regular file (a named pipe)"},
		{"100 MB of zeros", func(p string) error {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				return err
			}
			return os.Truncate(p, 100<<20)
		}, "larger than 64 MiB"},
		{"not JSON", func(p string) error { return os.WriteFile(p, []byte("lab: lab-a\n"), 0o600) }, "is damaged: invalid character"},
		{"JSON of another shape", func(p string) error { return os.WriteFile(p, []byte(`{"version": 1, "clusters": 3}`), 0o600) }, "is damaged: json: cannot unmarshal number"},
		{"JSON without a version", func(p string) error { return os.WriteFile(p, []byte(`{"lab": "lab-a"}`), 0o600) }, "has version 0; this labctl reads version 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			file, state := writeLab(t, "lab-a", "lab-a", 1)
			p := filepath.Join(state, "state.json")
			os.Remove(p)
			if err := c.make(p); err != nil {
				t.Fatal(err)
			}
			refusedUntouched(t, file, state, c.want)
		})
	}
}

// destroy of the whole lab leaves no baseline, log or key behind: a later
// lab of the same name must not reuse an old baseline.
func TestDestroyForgetsEverything(t *testing.T) {
	file, state := writeLab(t, "guards", "guards", 0)
	for _, p := range []string{"baseline/cluster-01.json", "logs/01-node1.log", "ssh/id_ed25519"} {
		os.MkdirAll(filepath.Join(state, filepath.Dir(p)), 0o700)
		os.WriteFile(filepath.Join(state, p), []byte("old"), 0o600)
	}
	os.WriteFile(file, []byte("name: guards\nprovider: {type: inventory, clusters: [[{address: 127.0.0.1}]]}\n"), 0o644)
	out, code := runCLI(t, "-f", file, "--state-dir", state, "destroy", "--yes")
	if code != 0 {
		t.Fatalf("destroy: exit %d: %s", code, out)
	}
	entries, _ := os.ReadDir(state)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if strings.Join(left, ",") != ".labctl-state,lock" {
		t.Fatalf("destroy left %v", left)
	}
}

func TestPrivilegedNodesWarning(t *testing.T) {
	for _, c := range []struct {
		body string
		warn bool
	}{
		{"attendees: 2\n", true},
		{"attendees: 1\n", false},
		{"attendees: 3\nprovider: {type: kind}\nnodesPerCluster: 1\n", true},
		{"attendees: 3\nprovider: {type: inventory, clusters: [[{address: 10.0.0.1}], [{address: 10.0.0.2}], [{address: 10.0.0.3}]]}\n", false},
		{"attendees: 30\nprovider: {type: local, userns: true}\n", false},
	} {
		l, err := lab.Parse("lab.yaml", []byte("name: w\n"+c.body))
		if err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		w := privilegedNodes(l)
		local := strings.Contains(c.body, "attendees: 2")
		if (w != "") != c.warn || (c.warn && !strings.Contains(w, "root on this machine")) || local != strings.Contains(w, "provider.userns: true") {
			t.Fatalf("%q: warning %q", c.body, w)
		}
	}
}
