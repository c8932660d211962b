package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// --state-dir on a shared directory is refused, and its mode stays.
func TestStateDirSharedIsRefused(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lab.yaml")
	os.WriteFile(file, []byte("name: i10a-state\n"), 0o644)
	shared := filepath.Join(dir, "shared")
	os.Mkdir(shared, 0o700)
	os.WriteFile(filepath.Join(shared, "someone-elses"), nil, 0o644)
	os.Chmod(shared, 0o777|os.ModeSticky)
	out, code := runCLI(t, "-f", file, "--state-dir", shared, "trust", "--cluster", "1", "--node", "node1")
	if code != exitBadInput || !strings.Contains(out, "state directory "+shared+": it is shared (mode 1777)") || strings.Contains(strings.TrimSpace(out), "\n") {
		t.Fatalf("want a one-line refusal, exit 2; got %d %q", code, out)
	}
	info, _ := os.Stat(shared)
	if info.Mode() != 0o777|os.ModeDir|os.ModeSticky {
		t.Fatalf("mode changed to %v", info.Mode())
	}
	if _, err := os.Stat(filepath.Join(shared, "lock")); err == nil {
		t.Fatal("labctl left a lock file in a directory it refused")
	}
}

// Bad input found only later (or never) before: one line naming the
// field, exit 2, no state directory made.
func TestBadInputSlippingThrough(t *testing.T) {
	dir := t.TempDir()
	junkKey := filepath.Join(dir, "id_junk")
	os.WriteFile(junkKey, []byte("not a key"), 0o600)
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, lab, env, want string
		file                 string
	}{
		{name: "attendees 0", lab: "attendees: 0\n", want: "attendees: 0 is out of range"},
		{name: "nodesPerCluster 0", lab: "nodesPerCluster: 0\n", want: "nodesPerCluster: 0 is out of range"},
		{name: "LABCTL_ATTENDEES=0", env: "LABCTL_ATTENDEES=0", want: "attendees: 0 is out of range"},
		{name: "identity file", lab: "ssh: {identityFile: " + junkKey + "}\n", want: "ssh.identityFile: " + junkKey + " is not an SSH private key"},
		{name: "password", lab: "login: {password: \"abcdefgh\\nPASSWORD\\ntouch /tmp/PWNED\"}\n", want: "login.password: must be printable ASCII"},
		{name: "cards.text key", lab: "cards: {text: {pasword: Mot de passe}}\n", want: `cards.text: unknown key "pasword"`},
		{name: "cards.logo", lab: "cards: {logo: missing.png}\n", want: "cards.logo: "},
		{name: "cards.template", lab: "cards: {template: missing.html}\n", want: "cards.template: "},
		{name: "-f /dev/zero", file: "/dev/zero", want: "lab file /dev/zero: not a regular file (a device)"},
		{name: "-f a FIFO", file: fifo, want: "lab file " + fifo + ": not a regular file (a named pipe)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := c.file
			if file == "" {
				file = filepath.Join(t.TempDir(), "lab.yaml")
				os.WriteFile(file, []byte("name: i10a-bad\n"+c.lab), 0o644)
			}
			if c.env != "" {
				k, v, _ := strings.Cut(c.env, "=")
				t.Setenv(k, v)
			}
			state := filepath.Join(t.TempDir(), "state")
			out, code := runCLI(t, "-f", file, "--state-dir", state, "up", "--dry-run")
			if code != exitBadInput || !strings.Contains(out, c.want) || strings.Contains(strings.TrimSpace(out), "\n") {
				t.Fatalf("want one line with %q, exit 2; got %d %q", c.want, code, out)
			}
			if _, err := os.Stat(state); !os.IsNotExist(err) {
				t.Fatal("bad input created the state directory")
			}
		})
	}
}

// A dry run of a new lab prints the plan and creates nothing.
func TestDryRunOfANewLabCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lab.yaml")
	os.WriteFile(file, []byte("name: i10a-dry\nattendees: 2\nnodesPerCluster: 2\n"), 0o644)
	state := filepath.Join(dir, "state")
	out := captureStdout(t, func() {
		if msg, code := runCLI(t, "-f", file, "--state-dir", state, "up", "--dry-run"); code != 0 {
			t.Fatalf("up --dry-run: exit %d: %s", code, msg)
		}
	})
	if !strings.Contains(out, "create 02/node2 with provider local") {
		t.Fatalf("no plan:\n%s", out)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatalf("a dry run created the state directory (%v)", err)
	}
}

// --grace negative or absurd: one line naming the flag, exit 2, before
// the lab file is even read.
func TestResetGraceOutOfRange(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lab.yaml")
	os.WriteFile(file, []byte("name: i17-grace\n"), 0o644)
	for _, g := range []string{"-5s", "-1ns", "1000000h", "61m"} {
		state := filepath.Join(t.TempDir(), "state")
		out, code := runCLI(t, "-f", file, "--state-dir", state, "reset", "--yes", "--grace", g)
		if code != exitBadInput || !strings.Contains(out, "--grace: ") || !strings.Contains(out, "out of range") || strings.Contains(strings.TrimSpace(out), "\n") {
			t.Errorf("--grace %s: want one line naming --grace, exit 2; got %d %q", g, code, out)
		}
		if _, err := os.Stat(state); !os.IsNotExist(err) {
			t.Errorf("--grace %s created the state directory", g)
		}
	}
}
