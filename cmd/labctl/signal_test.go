package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/labctl/labctl/internal/testenv"
	"github.com/labctl/labctl/lab"
)

// These tests build labctl and send it real signals while it drives a real
// OpenSSH server on loopback.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// labctlBinary builds labctl once for the test binary's run.
func labctlBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "labctl-signal-test-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "labctl")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// signalLab is an inventory lab of one node, served by a real OpenSSH
// server, with its state made by `labctl up --only provision`.
type signalLab struct {
	sshd  *testenv.OpenSSH
	file  string
	state string
	bin   string
}

func newSignalLab(t *testing.T, opts testenv.OpenSSHOptions) *signalLab {
	t.Helper()
	l := &signalLab{sshd: testenv.StartOpenSSH(t, opts), bin: labctlBinary(t)}
	dir := t.TempDir()
	l.file = filepath.Join(dir, "lab.yaml")
	l.state = filepath.Join(dir, "state")
	yaml := fmt.Sprintf("name: i10b-signal\nkubernetes: {cni: bridge}\nprovider:\n  type: inventory\n  clusters:\n    - [{address: %s, port: %d}]\nssh: {user: root, identityFile: %s}\n",
		l.sshd.Address(), l.sshd.Port(), l.sshd.KeyFile)
	if err := os.WriteFile(l.file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := l.command("up", "--only", "provision").CombinedOutput(); err != nil && opts.ForceCommand == "" {
		t.Fatalf("labctl up --only provision: %v: %s", err, out)
	}
	return l
}

func (l *signalLab) command(args ...string) *exec.Cmd {
	cmd := exec.Command(l.bin, append([]string{"-f", l.file, "--state-dir", l.state}, args...)...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	return cmd
}

// started is a labctl process with its output.
type started struct {
	cmd  *exec.Cmd
	out  *syncBuf
	done chan error
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (l *signalLab) start(t *testing.T, args ...string) *started {
	t.Helper()
	p := &started{cmd: l.command(args...), out: &syncBuf{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

// exit waits up to limit for the process to end and returns its exit code.
func (p *started) exit(t *testing.T, limit time.Duration, what string) int {
	t.Helper()
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(limit):
		p.cmd.Process.Kill()
		t.Fatalf("labctl still running %s after %s; output:\n%s", limit, what, p.out.String())
		return -1
	}
}

func sleepMarker(t *testing.T) string {
	m := fmt.Sprintf("1000.%06d", rand.IntN(1000000))
	t.Cleanup(func() { testenv.KillProcesses("sleep " + m) })
	return "sleep " + m
}

// First signal: labctl stops what runs on the hosts, says so, and exits
// within seconds; nothing is left running on the host.
func TestFirstSignalStopsAndExits(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			l := newSignalLab(t, testenv.OpenSSHOptions{})
			m := sleepMarker(t)
			p := l.start(t, "exec", "--", m)
			testenv.WaitProcess(t, m)
			p.cmd.Process.Signal(sig)
			code := p.exit(t, 20*time.Second, "the first "+sig.String())
			out := p.out.String()
			t.Logf("labctl said:\n%s", out)
			if code != 128+int(sig) || !strings.Contains(out, "stopping") || !strings.Contains(out, "interrupted") {
				t.Fatalf("want exit %d saying it stops, got %d:\n%s", 128+int(sig), code, out)
			}
			if left := testenv.WaitNoProcesses(m, 10*time.Second); len(left) > 0 {
				t.Fatalf("%q still runs on the host after labctl exited: %v", m, left)
			}
		})
	}
}

// Second signal: labctl exits at once, even while it is still cleaning up
// (here a forced command, which OpenSSH neither signals nor ends when the
// session closes, so stopping takes until the connection is dropped).
func TestSecondSignalExitsAtOnce(t *testing.T) {
	m := sleepMarker(t)
	l := newSignalLab(t, testenv.OpenSSHOptions{})
	l.sshd.Restart(t, testenv.OpenSSHOptions{ForceCommand: m}, false)
	p := l.start(t, "exec", "--", "true")
	testenv.WaitProcess(t, m)
	p.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(500 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGTERM)
	code := p.exit(t, 20*time.Second, "two SIGTERMs")
	if out := p.out.String(); code != 143 || !strings.Contains(out, "quitting now") {
		t.Fatalf("want exit 143 quitting at once, got %d:\n%s", code, out)
	}
}

// `labctl up` interrupted while a host hangs (a forced command, which
// OpenSSH will not signal) ends within seconds with the state saved: the
// interrupted phase is recorded for the cluster.
func TestInterruptedUpSavesState(t *testing.T) {
	l := newSignalLab(t, testenv.OpenSSHOptions{})
	m := sleepMarker(t)
	l.sshd.Restart(t, testenv.OpenSSHOptions{ForceCommand: m}, false)
	p := l.start(t, "up", "--only", "nodeprep")
	testenv.WaitProcess(t, m)
	p.cmd.Process.Signal(syscall.SIGINT)
	code := p.exit(t, 30*time.Second, "SIGINT")
	out := p.out.String()
	t.Logf("labctl said:\n%s", out)
	if code != 130 || !strings.Contains(out, "interrupted") {
		t.Fatalf("want exit 130 saying it was interrupted, got %d:\n%s", code, out)
	}
	data, err := os.ReadFile(filepath.Join(l.state, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s lab.State
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("state damaged: %v", err)
	}
	if s.Clusters[0].Key == nil || s.Clusters[0].Nodes[0].HostKey == "" {
		t.Fatalf("what the interrupted run did before the signal was not saved: %+v", s.Clusters[0])
	}
	if !strings.Contains(out, "cluster 01: interrupted") || strings.Contains(out, "cluster 01: ok") {
		t.Fatalf("the report must say the cluster was interrupted, not ok:\n%s", out)
	}
}

// labctl killed outright (SIGKILL) mid-run: the state file is intact, the
// lock is free, and a re-run goes on from there.
func TestKilledUpLeavesStateIntact(t *testing.T) {
	l := newSignalLab(t, testenv.OpenSSHOptions{})
	m := sleepMarker(t)
	l.sshd.Restart(t, testenv.OpenSSHOptions{ForceCommand: m}, false)
	p := l.start(t, "up", "--only", "nodeprep")
	testenv.WaitProcess(t, m)
	p.cmd.Process.Kill()
	p.exit(t, 10*time.Second, "SIGKILL")
	data, err := os.ReadFile(filepath.Join(l.state, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s lab.State
	if err := json.Unmarshal(data, &s); err != nil || s.Clusters[0].Key == nil {
		t.Fatalf("state damaged or the run's keys lost: %v", err)
	}
	l.sshd.Restart(t, testenv.OpenSSHOptions{}, false)
	if out, err := l.command("up", "--only", "provision").CombinedOutput(); err != nil {
		t.Fatalf("re-run after SIGKILL: %v\n%s", err, out)
	}
}
