package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labctl/labctl/lab"
)

// runCLI runs labctl in-process and returns its output and exit code.
func runCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	if err != nil {
		return out.String() + err.Error(), exitCode(err)
	}
	return out.String(), 0
}

func TestInitWritesAValidStarter(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lab.yaml")
	if _, code := runCLI(t, "-f", file, "init", "k8s-101"); code != 0 {
		t.Fatalf("init exit %d", code)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	l, err := lab.Parse(file, data)
	if err != nil {
		t.Fatalf("starter does not parse: %v", err)
	}
	if l.Name != "k8s-101" || l.Provider.Type != "local" || !strings.Contains(string(data), "# ") {
		t.Fatalf("starter: %+v", l)
	}
	// The README's first command brings the starter up offline on this machine.
	if l.Kubernetes.CNI != "bridge" || l.Kubernetes.Source != "cache" {
		t.Fatalf("starter on local nodes: cni %q, source %q; want bridge and cache", l.Kubernetes.CNI, l.Kubernetes.Source)
	}
	out, code := runCLI(t, "-f", file, "init")
	if code != exitBadInput || !strings.Contains(out, "already exists") {
		t.Fatalf("init must not overwrite: %d %q", code, out)
	}
}

func TestBadInputExitsTwoAndChangesNothing(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lab.yaml")
	os.WriteFile(file, []byte("name: x\nattendees: 10000\n"), 0o644)
	state := filepath.Join(dir, "state")
	out, code := runCLI(t, "-f", file, "--state-dir", state, "up")
	if code != exitBadInput || !strings.Contains(out, "attendees: 10000 is out of range") || strings.Count(strings.TrimSpace(out), "\n") > 0 {
		t.Fatalf("want one-line bad-input error, got %d %q", code, out)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatal("a rejected lab file must not create state")
	}
	_, code = runCLI(t, "--no-such-flag")
	if code != exitBadInput {
		t.Fatalf("unknown flag exit %d", code)
	}
	out, code = runCLI(t, "-f", file, "up", "--only", "everything")
	if code != exitBadInput || !strings.Contains(out, "--only") {
		t.Fatalf("bad --only: %d %q", code, out)
	}
}

func TestResetRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{{"reset", "--level", "medium"}, {"reset", "--cluster", "0"}} {
		out, code := runCLI(t, args...)
		if code != exitBadInput || strings.Count(strings.TrimSpace(out), "\n") > 0 {
			t.Errorf("%v: want a one-line bad-input error, got %d %q", args, code, out)
		}
	}
}
