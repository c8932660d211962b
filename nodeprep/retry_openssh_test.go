package nodeprep

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/labctl/labctl/internal/testenv"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// A step whose connection is killed mid-run (real OpenSSH: its
// per-connection sshd dies) runs again and succeeds; a step whose command
// fails is not run again. The server sees a private /var/lib, where the
// steps write.
func TestStepRunsAgainAfterConnectionLost(t *testing.T) {
	varlib := t.TempDir()
	s := testenv.StartOpenSSH(t, testenv.OpenSSHOptions{PrivateDirs: map[string]string{"/var/lib": varlib}})
	e := remote.NewEngine(remote.Config{User: "root", Signers: []ssh.Signer{s.Signer}, LogDir: t.TempDir(), RetryWindow: 10 * time.Second})
	defer e.Close()
	x := e.Host(remote.Host{Name: "01/node1", Address: s.Address(), Port: s.Port(), HostKey: s.HostKey})
	m := fmt.Sprintf("3.%06d", rand.IntN(1000000))
	t.Cleanup(func() { testenv.KillProcesses("sleep " + m) })
	var out bytes.Buffer
	p := &Phase{Context: phase.Context{Out: &out}}
	login := Step{Name: "login", Script: "echo run >> /var/lib/login-runs\nsleep " + m}
	go func() {
		testenv.WaitProcess(t, "sleep "+m)
		s.KillConnections()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.apply(ctx, &nodeWork{Target: at(1, "node1", x), todo: []Step{login}}); err != nil {
		t.Fatalf("the login step failed after a lost connection instead of running again: %v", err)
	}
	if runs, _ := os.ReadFile(filepath.Join(varlib, "login-runs")); strings.Count(string(runs), "run") != 2 {
		t.Fatalf("want the step run twice, the host saw %q", runs)
	}
	if digest, _ := os.ReadFile(filepath.Join(varlib, "labctl/steps/login")); strings.TrimSpace(string(digest)) != login.Digest() {
		t.Fatalf("the step's success was not recorded: %q", digest)
	}
	if !strings.Contains(out.String(), "01/node1: step login: connection lost; running it again (attempt 2 of 3)") {
		t.Fatalf("the retry was not reported:\n%s", out.String())
	}

	broken := Step{Name: "broken", Script: "echo run >> /var/lib/broken-runs\nexit 3"}
	err := p.apply(ctx, &nodeWork{Target: at(1, "node1", x), todo: []Step{broken}})
	var ee *remote.ExitError
	var se *phase.StepError
	if !errors.As(err, &ee) || !errors.As(err, &se) || se.Step != "broken" || ee.ExitCode != 3 {
		t.Fatalf("want the failed step's exit 3, got %v", err)
	}
	if runs, _ := os.ReadFile(filepath.Join(varlib, "broken-runs")); strings.Count(string(runs), "run") != 1 {
		t.Fatalf("a failed command must not run again, the host saw %q", runs)
	}
}
