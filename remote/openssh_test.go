package remote_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/labctl/labctl/internal/testenv"
	"github.com/labctl/labctl/remote"
)

// These tests run against a real OpenSSH server on loopback: it differs
// from the in-process one exactly where it matters (signals, closing).

func openSSHEngine(t *testing.T, s *testenv.OpenSSH, mod func(*remote.Config)) (*remote.Engine, remote.Host) {
	t.Helper()
	cfg := remote.Config{
		User:        "root",
		Signers:     []ssh.Signer{s.Signer},
		DialTimeout: 5 * time.Second,
		RetryWindow: 5 * time.Second,
		LogDir:      t.TempDir(),
	}
	if mod != nil {
		mod(&cfg)
	}
	e := remote.NewEngine(cfg)
	t.Cleanup(func() { e.Close() })
	return e, remote.Host{Name: "01/node1", Address: s.Address(), Port: s.Port(), HostKey: s.HostKey}
}

// marker makes a remote command line this test alone runs, to find its
// processes on the host.
func marker(t *testing.T) string {
	m := fmt.Sprintf("1000.%06d", rand.IntN(1000000))
	t.Cleanup(func() { testenv.KillProcesses("sleep " + m) })
	return m
}

// runBounded runs cmd and fails the test if Run outlives its context by
// more than limit: before labctl bounded the wait it never returned.
func runBounded(t *testing.T, ctx context.Context, x remote.Executor, cmd remote.Command, limit time.Duration) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, err := x.Run(ctx, cmd)
		errc <- err
	}()
	<-ctx.Done()
	select {
	case err := <-errc:
		return err
	case <-time.After(limit):
		t.Fatalf("Run(%q) still waiting %s after its context ended", cmd.Line, limit)
		return nil
	}
}

func TestOpenSSHDeadlineStopsTheCommandAndItsProcesses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sudo  bool
		stdin bool
		line  string // %s is the marked sleep
	}{
		{name: "root"},
		{name: "sudo", sudo: true},
		{name: "script on stdin", stdin: true},
		{name: "script on stdin under sudo", stdin: true, sudo: true},
		// A session of its own leaves the process group (issue 17, item 9).
		{name: "setsid child", line: "setsid %s & %[1]s"},
		{name: "setsid child under sudo", sudo: true, line: "setsid %s & %[1]s"},
		{name: "double fork into a new session", line: "(setsid -f %s); (setsid sh -c '%[1]s & %[1]s' &); %[1]s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testenv.StartOpenSSH(t, testenv.OpenSSHOptions{})
			e, h := openSSHEngine(t, s, nil)
			if tc.sudo {
				remote.SudoAlways(e)
			}
			x := e.Host(h)
			m := marker(t)
			cmd := remote.Command{Line: "sleep " + m}
			if tc.line != "" {
				cmd.Line = fmt.Sprintf(tc.line, "sleep "+m)
			}
			if tc.stdin {
				// A step's shape: bash reads the script, whose child sleeps.
				cmd = remote.Command{Line: "bash -euo pipefail -s", Stdin: strings.NewReader("echo started\nsleep " + m + "\necho never\n")}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			err := runBounded(t, ctx, x, cmd, 20*time.Second)
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "01/node1") {
				t.Fatalf("want a deadline error naming the host, got %v", err)
			}
			if left := testenv.WaitNoProcesses("sleep "+m, 10*time.Second); len(left) > 0 {
				t.Fatalf("the remote command outlived its session: pids %v still run `sleep %s`", left, m)
			}
			res, err := x.Run(context.Background(), remote.Command{Line: "echo still here"})
			if err != nil || string(res.Stdout) != "still here\n" {
				t.Fatalf("engine unusable after a stopped command: %q %v", res.Stdout, err)
			}
		})
	}
}

// A forced command (authorized_keys command=, ForceCommand) is not ours to
// wrap and OpenSSH refuses to signal it: the wait is still bounded, by
// dropping the connection.
func TestOpenSSHForcedCommandWaitIsBounded(t *testing.T) {
	m := marker(t)
	s := testenv.StartOpenSSH(t, testenv.OpenSSHOptions{ForceCommand: "sleep " + m})
	e, h := openSSHEngine(t, s, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := runBounded(t, ctx, e.Host(h), remote.Command{Line: "true"}, 20*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v", err)
	}
}

// Normal commands keep their output, exit code and stdin through the
// wrapper that ties them to their session.
func TestOpenSSHRunKeepsOutputAndExitCode(t *testing.T) {
	s := testenv.StartOpenSSH(t, testenv.OpenSSHOptions{})
	for _, sudo := range []bool{false, true} {
		e, h := openSSHEngine(t, s, nil)
		if sudo {
			remote.SudoAlways(e)
		}
		x := e.Host(h)
		res, err := x.Run(context.Background(), remote.Command{Line: "echo out; echo err >&2; cat", Stdin: strings.NewReader("in\n")})
		if err != nil || string(res.Stdout) != "out\nin\n" || string(res.Stderr) != "err\n" {
			t.Fatalf("sudo %v: stdout %q stderr %q err %v", sudo, res.Stdout, res.Stderr, err)
		}
		_, err = x.Run(context.Background(), remote.Command{Line: "echo bye; exit 7"})
		var ee *remote.ExitError
		if !errors.As(err, &ee) || ee.ExitCode != 7 || !strings.Contains(ee.Output, "bye") {
			t.Fatalf("sudo %v: want exit 7 with its output, got %v", sudo, err)
		}
		// A syntax error is the command's, not a hang.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err = x.Run(ctx, remote.Command{Line: "if then fi ("})
		cancel()
		if !errors.As(err, &ee) {
			t.Fatalf("sudo %v: want an exit error for a syntax error, got %v", sudo, err)
		}
	}
}

// A connection killed mid-command (the host's sshd for this connection
// dies, as in an OOM kill or a network drop) is ErrConnectionLost, naming
// the host; the command does not go on alone; the next command redials.
func TestOpenSSHConnectionKilledMidCommand(t *testing.T) {
	s := testenv.StartOpenSSH(t, testenv.OpenSSHOptions{})
	e, h := openSSHEngine(t, s, nil)
	x := e.Host(h)
	m := marker(t)
	go func() {
		testenv.WaitProcess(t, "sleep "+m)
		s.KillConnections()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := x.Run(ctx, remote.Command{Line: "sleep " + m})
	if !errors.Is(err, remote.ErrConnectionLost) || !strings.Contains(err.Error(), "01/node1") {
		t.Fatalf("want connection lost naming the host, got %v", err)
	}
	if left := testenv.WaitNoProcesses("sleep "+m, 10*time.Second); len(left) > 0 {
		t.Fatalf("the command outlived its connection: pids %v", left)
	}
	if res, err := x.Run(context.Background(), remote.Command{Line: "echo again"}); err != nil || string(res.Stdout) != "again\n" {
		t.Fatalf("no redial after the lost connection: %q %v", res.Stdout, err)
	}
}

// RetryLost runs idempotent work again after a lost connection, and never
// a command that failed.
func TestOpenSSHRetryLost(t *testing.T) {
	s := testenv.StartOpenSSH(t, testenv.OpenSSHOptions{})
	e, h := openSSHEngine(t, s, nil)
	x := e.Host(h)
	dir := t.TempDir()
	m := fmt.Sprintf("2.%06d", rand.IntN(1000000))
	go func() {
		testenv.WaitProcess(t, "sleep "+m)
		s.KillConnections()
	}()
	var retries []int
	err := remote.RetryLost(context.Background(), 3, func(n int, err error) { retries = append(retries, n) }, func(ctx context.Context) error {
		_, err := x.Run(ctx, remote.Command{Line: fmt.Sprintf("echo run >> %s/lost; sleep %s", dir, m)})
		return err
	})
	if err != nil || len(retries) != 1 || retries[0] != 2 {
		t.Fatalf("want one retry then success, got retries %v, %v", retries, err)
	}
	if b, _ := os.ReadFile(dir + "/lost"); strings.Count(string(b), "run") != 2 {
		t.Fatalf("want 2 runs, host saw %q", b)
	}
	retries = nil
	err = remote.RetryLost(context.Background(), 3, func(n int, err error) { retries = append(retries, n) }, func(ctx context.Context) error {
		_, err := x.Run(ctx, remote.Command{Line: fmt.Sprintf("echo run >> %s/failed; exit 3", dir)})
		return err
	})
	var ee *remote.ExitError
	if !errors.As(err, &ee) || len(retries) != 0 {
		t.Fatalf("a failed command must not be retried: retries %v, %v", retries, err)
	}
}

// The watchdog that ties a command to its session must never outlive a
// command that ends on its own: it would hold the session open. Quick
// commands are where it is still starting when the command ends.
func TestOpenSSHQuickCommandsEndTheirSession(t *testing.T) {
	s := testenv.StartOpenSSH(t, testenv.OpenSSHOptions{})
	e, h := openSSHEngine(t, s, nil)
	x := e.Host(h)
	sudo, _ := openSSHEngine(t, s, nil)
	remote.SudoAlways(sudo) // sh under sudo is dash, where the first wrapper leaked
	xs := sudo.Host(h)
	for i := 0; i < 200; i++ {
		if i == 100 {
			x = xs
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		res, err := x.Run(ctx, remote.Command{Line: "echo " + fmt.Sprint(i)})
		cancel()
		if err != nil || string(res.Stdout) != fmt.Sprintf("%d\n", i) {
			t.Fatalf("command %d: %q %v", i, res.Stdout, err)
		}
	}
}
