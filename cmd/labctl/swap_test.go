package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/lab"
)

// sparesLab writes a lab file of 2 attendees and 2 spares and a state as
// up would have left it, with the given spares' states changed by edit.
func sparesLab(t *testing.T, edit func(s *lab.State)) (file, state string, before []byte) {
	t.Helper()
	dir := t.TempDir()
	file = filepath.Join(dir, "lab.yaml")
	os.WriteFile(file, []byte("name: spares-unit\nattendees: 2\nspares: 2\nnodesPerCluster: 1\n"), 0o644)
	state = filepath.Join(dir, "state")
	st, err := lab.Open(state, "spares-unit", 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	s := &lab.State{Lab: "spares-unit", Provider: lab.ProviderState{Type: "local"}}
	for i := 1; i <= 4; i++ {
		s.Clusters = append(s.Clusters, lab.Cluster{Index: i, Login: lab.Login{User: "k8s", Password: "pw-of-cluster-0" + string(rune('0'+i))},
			Nodes: []lab.Node{{Name: "node1", PublicAddress: "192.0.2." + string(rune('0'+i)), Port: 22}}})
	}
	s.Seat(2, 2)
	if edit != nil {
		edit(s)
	}
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	st.Close()
	before, _ = os.ReadFile(filepath.Join(state, "state.json"))
	return file, state, before
}

func unchanged(t *testing.T, state string, before []byte) {
	t.Helper()
	after, _ := os.ReadFile(filepath.Join(state, "state.json"))
	if string(after) != string(before) {
		t.Fatalf("the state changed:\n%s", after)
	}
}

// swap of an attendee the lab does not have: one line, exit 2, nothing
// changed; nothing is probed either.
func TestSwapUnknownAttendee(t *testing.T) {
	file, state, before := sparesLab(t, nil)
	for _, arg := range []string{"3", "0", "-1", "two"} {
		out, code := runCLI(t, "-f", file, "--state-dir", state, "swap", "--yes", "--", arg)
		if code != exitBadInput || !strings.Contains(out, "ATTENDEE: ") || strings.Contains(strings.TrimSpace(out), "\n") {
			t.Errorf("swap %s: want one line naming ATTENDEE, exit 2; got %d %q", arg, code, out)
		}
	}
	out, _ := runCLI(t, "-f", file, "--state-dir", state, "swap", "--yes", "3")
	if !strings.Contains(out, "lab spares-unit has no attendee 3 (attendees 1 to 2)") {
		t.Errorf("swap 3: %q", out)
	}
	unchanged(t, state, before)
}

// No healthy spare: exit 1, one line naming why each spare was passed
// over, nothing changed.
func TestSwapNoSpareLeft(t *testing.T) {
	file, state, before := sparesLab(t, func(s *lab.State) {
		s.Cluster(3).NeedsReset = "attendee 01's until labctl swap at 2026-12-08T10:00:00Z"
		s.Cluster(4).SetStopped(true, time.Now())
	})
	out, code := runCLI(t, "-f", file, "--state-dir", state, "swap", "--yes", "1")
	if code != exitFailed || strings.Contains(strings.TrimSpace(out), "\n") ||
		!strings.Contains(out, "no healthy spare left: cluster 03 needs a reset") || !strings.Contains(out, "cluster 04 is stopped") || !strings.Contains(out, "nothing changed") {
		t.Fatalf("want one line naming why, exit 1; got %d %q", code, out)
	}
	unchanged(t, state, before)
}

// A lab without spares has none to give: exit 1.
func TestSwapWithoutSpares(t *testing.T) {
	file, state := writeLab(t, "spares-none", "spares-none", 2)
	out, code := runCLI(t, "-f", file, "--state-dir", state, "swap", "--yes", "1")
	if code != exitFailed || !strings.Contains(out, "no healthy spare left: lab spares-none has no spare clusters") || strings.Contains(strings.TrimSpace(out), "\n") {
		t.Fatalf("got %d %q", code, out)
	}
}

// spares in the lab file: a whole number, 0 or more, attendees + spares
// within the attendee limit; bad: one line naming spares, exit 2, no
// state directory made.
func TestSparesBadInput(t *testing.T) {
	for _, c := range []struct{ lab, want string }{
		{"spares: -1\n", "spares: -1 is out of range (0 to 499)"},
		{"spares: lots\n", `spares: expected a whole number, got "lots"`},
		{"attendees: 500\nspares: 1\n", "spares: 500 attendees and 1 spares make 501 clusters, above the limit of 500"},
	} {
		file := filepath.Join(t.TempDir(), "lab.yaml")
		os.WriteFile(file, []byte("name: spares-bad\n"+c.lab), 0o644)
		state := filepath.Join(t.TempDir(), "state")
		out, code := runCLI(t, "-f", file, "--state-dir", state, "up", "--dry-run")
		oneLine(t, out, code, c.want)
		if _, err := os.Stat(state); !os.IsNotExist(err) {
			t.Fatal("bad input created the state directory")
		}
	}
	t.Setenv("LABCTL_SPARES", "-3")
	file := filepath.Join(t.TempDir(), "lab.yaml")
	os.WriteFile(file, []byte("name: spares-bad\n"), 0o644)
	out, code := runCLI(t, "-f", file, "--state-dir", filepath.Join(t.TempDir(), "state"), "up", "--dry-run")
	oneLine(t, out, code, "spares: -3 is out of range")
}

// up --dry-run plans attendees + spares clusters.
func TestSparesDryRun(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lab.yaml")
	os.WriteFile(file, []byte("name: spares-dry\nattendees: 2\nspares: 1\nnodesPerCluster: 1\n"), 0o644)
	out := captureStdout(t, func() {
		if msg, code := runCLI(t, "-f", file, "--state-dir", filepath.Join(t.TempDir(), "state"), "up", "--dry-run"); code != 0 {
			t.Fatalf("up --dry-run: exit %d: %s", code, msg)
		}
	})
	if !strings.Contains(out, "create 03/node1 with provider local") || strings.Contains(out, "04/node1") {
		t.Fatalf("want 3 clusters planned:\n%s", out)
	}
}

// --attendee selects the cluster that serves the attendee; --cluster is
// the cluster; unknown numbers are refused naming the flag.
func TestSelectClusters(t *testing.T) {
	s := &lab.State{Clusters: []lab.Cluster{{Index: 1}, {Index: 2}, {Index: 3}}}
	l := &lab.Lab{Name: "x"}
	s.Seat(2, 1)
	if _, err := s.Swap(1, 3, "swap"); err != nil {
		t.Fatal(err)
	}
	got, err := selectClusters(l, s, []int{1}, []int{1, 2})
	if err != nil || len(got) != 3 || got[0] != 1 || got[1] != 3 || got[2] != 2 {
		t.Errorf("--cluster 1 --attendee 1,2: %v, %v; want [1 3 2]", got, err)
	}
	if _, err := selectClusters(l, s, nil, []int{3}); err == nil || exitCode(err) != exitBadInput || !strings.Contains(err.Error(), "--attendee: lab x has no attendee 3") {
		t.Errorf("--attendee 3: %v", err)
	}
	if _, err := selectClusters(l, s, []int{4}, nil); err == nil || !strings.Contains(err.Error(), "--cluster: lab x has no cluster 4") {
		t.Errorf("--cluster 4: %v", err)
	}
	// Without spares, attendee N is cluster N.
	plain := &lab.State{Clusters: []lab.Cluster{{Index: 1}, {Index: 2}}}
	if got, err := selectClusters(l, plain, nil, []int{2}); err != nil || len(got) != 1 || got[0] != 2 {
		t.Errorf("no spares, --attendee 2: %v, %v", got, err)
	}
}

// ssh --attendee N: the cluster that serves attendee N; a number the lab
// does not have is refused naming the flag; CLUSTER keeps its meaning.
func TestSSHAttendeeArgs(t *testing.T) {
	file, state, _ := sparesLab(t, nil)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ssh", "--attendee", "3"}, "--attendee: lab spares-unit has no attendee 3"},
		{[]string{"ssh", "--attendee", "1", "node9"}, `NODE: cluster 1 has no node "node9"`},
		{[]string{"ssh", "5"}, "CLUSTER: lab spares-unit has no cluster 5"},
		{[]string{"ssh"}, "accepts between 1 and 2 arg(s)"},
		{[]string{"ssh", "--attendee", "1", "node1", "extra"}, "accepts at most 1 arg(s)"},
	} {
		out, code := runCLI(t, append([]string{"-f", file, "--state-dir", state}, c.args...)...)
		if code != exitBadInput || !strings.Contains(out, c.want) {
			t.Errorf("%v: want exit 2 with %q; got %d %q", c.args, c.want, code, out)
		}
	}
}
