// Package e2e drives the labctl binary against real local nodes (podman
// containers booting systemd and sshd). Slow: it runs with LABCTL_E2E=1.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	bin  string // the labctl binary under test
	work string // lab files and state directories
)

func TestMain(m *testing.M) {
	if os.Getenv("LABCTL_E2E") == "" {
		fmt.Println("e2e: skipped (set LABCTL_E2E=1 to run the end-to-end tests on local nodes)")
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "labctl-e2e-")
	if err != nil {
		panic(err)
	}
	work = dir
	bin = filepath.Join(dir, "labctl")
	build := exec.Command("go", "build", "-o", bin, "../cmd/labctl")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building labctl: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needE2E(t *testing.T) {
	t.Helper()
	if os.Getenv("LABCTL_E2E") == "" {
		t.Skip("set LABCTL_E2E=1 to run end-to-end tests on local nodes")
	}
}

// result is one labctl run.
type result struct {
	stdout, stderr string
	code           int
}

// labctl runs the binary with args in the lab's directory.
func labctl(t *testing.T, l *testLab, stdin string, args ...string) result {
	t.Helper()
	// A first up on a fresh machine builds the Kubernetes artifact cache (tens of minutes).
	ctx, cancel := context.WithTimeout(context.Background(), 75*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-f", l.file, "--state-dir", l.state}, args...)...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	cmd.Stdin = bytes.NewBufferString(stdin)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	err := cmd.Run()
	r := result{stdout: so.String(), stderr: se.String()}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else {
			t.Fatalf("labctl %v: %v", args, err)
		}
	}
	t.Logf("labctl %v → exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
	return r
}

// labctlWhen runs labctl and calls action (given labctl's process) once a
// line of its output contains trigger.
func labctlWhen(t *testing.T, l *testLab, trigger string, action func(labctl *os.Process), args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-f", l.file, "--state-dir", l.state}, args...)...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	var se bytes.Buffer
	cmd.Stderr = &se
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var so bytes.Buffer
	sc := bufio.NewScanner(out)
	fired := false
	for sc.Scan() {
		line := sc.Text()
		so.WriteString(line + "\n")
		if !fired && strings.Contains(line, trigger) {
			fired = true
			action(cmd.Process)
		}
	}
	// Stderr is copied by a goroutine that finishes only in Wait: read it after.
	err = cmd.Wait()
	r := result{stdout: so.String(), stderr: se.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("labctl %v: %v", args, err)
		}
		r.code = ee.ExitCode()
	}
	if !fired {
		t.Errorf("labctl %v never printed %q", args, trigger)
	}
	t.Logf("labctl %v → exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
	return r
}

// testLab is a lab file and state directory of the test's own.
type testLab struct {
	name, file, state string
}

// newLab writes a lab file for the local provider and registers its
// destruction when the test ends.
func newLab(t *testing.T, name, body string) *testLab {
	t.Helper()
	// Engineers sharing one machine give their runs a prefix of their own
	// (LABCTL_E2E_PREFIX=e2e-alice makes e2e-k8s e2e-alice-k8s), so that
	// one's leftovers sweep never removes another's lab.
	if p := os.Getenv("LABCTL_E2E_PREFIX"); p != "" {
		name = p + "-" + strings.TrimPrefix(name, "e2e-")
	}
	if work == "" {
		// Only TestMain's temporary directory holds labs: never the package's.
		t.Fatal("newLab outside TestMain's LABCTL_E2E setup")
	}
	dir := filepath.Join(work, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	l := &testLab{name: name, file: filepath.Join(dir, "lab.yaml"), state: filepath.Join(dir, "state")}
	if err := os.WriteFile(l.file, []byte("name: "+name+"\n"+body), 0o600); err != nil {
		t.Fatal(err)
	}
	// A leftover from an interrupted run would make the test lie.
	exec.Command("sh", "-c", "podman rm -f $(podman ps -aq --filter label=labctl.lab="+name+") ; podman volume rm -f $(podman volume ls -q --filter label=labctl.lab="+name+"); podman network rm -f labctl-"+name).Run()
	t.Cleanup(func() {
		if os.Getenv("LABCTL_E2E_KEEP") != "" {
			return
		}
		labctl(t, l, "", "destroy", "--yes")
	})
	return l
}

func podman(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("podman", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman %v: %v: %s", args, err, out)
	}
	return string(out)
}
