package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labctl/labctl/internal/testenv"
	"github.com/labctl/labctl/lab"
)

// bastionLab is an inventory lab of one node behind a bastion, both real
// OpenSSH servers on loopback.
func bastionLab(t *testing.T, bastion *testenv.OpenSSH, bastionKey, extra string) *signalLab {
	t.Helper()
	l := &signalLab{sshd: testenv.StartOpenSSH(t, testenv.OpenSSHOptions{}), bin: labctlBinary(t)}
	dir := t.TempDir()
	l.file = filepath.Join(dir, "lab.yaml")
	l.state = filepath.Join(dir, "state")
	yaml := fmt.Sprintf("name: i10b-bastion\nkubernetes: {cni: bridge}\nprovider:\n  type: inventory\n  clusters:\n    - [{address: %s, port: %d}]\n"+
		"ssh:\n  user: root\n  identityFile: %s\n%s  bastion: {address: %s, port: %d, user: root%s}\n",
		l.sshd.Address(), l.sshd.Port(), l.sshd.KeyFile, extra, bastion.Address(), bastion.Port(), bastionKey)
	if err := os.WriteFile(l.file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *signalLab) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := l.command(args...).CombinedOutput()
	return string(out), err
}

func (l *signalLab) readState(t *testing.T) *lab.State {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(l.state, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s lab.State
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// The bastion's key is pinned in the state on first contact, like a
// node's; a changed key is refused with the command that accepts it.
func TestBastionHostKeyPinned(t *testing.T) {
	bastion := testenv.StartOpenSSH(t, testenv.OpenSSHOptions{})
	l := bastionLab(t, bastion, ", identityFile: "+bastion.KeyFile, "")
	if out, err := l.run(t, "up", "--only", "provision"); err != nil {
		t.Fatalf("up through the bastion: %v\n%s", err, out)
	}
	if s := l.readState(t); s.Bastion == nil || s.Bastion.HostKey != bastion.HostKey || s.Bastion.Addr != bastion.Addr {
		t.Fatalf("the bastion's key is not pinned in the state: %+v", s.Bastion)
	}
	if out, err := l.run(t, "exec", "--", "echo through"); err != nil || !strings.Contains(out, "[01/node1] through") {
		t.Fatalf("exec through the pinned bastion: %v\n%s", err, out)
	}

	bastion.Restart(t, testenv.OpenSSHOptions{}, true) // rebuilt: a new host key
	out, err := l.run(t, "exec", "--", "echo through")
	if err == nil || !strings.Contains(out, "host key changed") || !strings.Contains(out, "labctl trust --bastion") {
		t.Fatalf("a changed bastion key must be refused with the trust hint: %v\n%s", err, out)
	}
	if strings.Contains(out, "[01/node1] through") {
		t.Fatalf("the command ran through a bastion whose key changed:\n%s", out)
	}
	if out, err := l.run(t, "trust", "--bastion"); err != nil {
		t.Fatalf("trust --bastion: %v\n%s", err, out)
	}
	if out, err := l.run(t, "exec", "--", "echo through"); err != nil || !strings.Contains(out, "[01/node1] through") {
		t.Fatalf("exec after trust --bastion: %v\n%s", err, out)
	}
	if s := l.readState(t); s.Bastion == nil || s.Bastion.HostKey != bastion.HostKey {
		t.Fatalf("the bastion's new key is not pinned: %+v", s.Bastion)
	}
}

// ssh.password is the nodes' password: the bastion never sees it. This
// bastion takes no key of ours and would take a password, and logs each
// password tried.
func TestBastionNeverGetsTheNodePassword(t *testing.T) {
	bastion := testenv.StartOpenSSH(t, testenv.OpenSSHOptions{PasswordAuth: true})
	l := bastionLab(t, bastion, "", "  password: node-secret-9q7\n")
	out, err := l.run(t, "up", "--only", "provision")
	if err == nil {
		t.Fatalf("the bastion takes none of our keys, yet up succeeded:\n%s", out)
	}
	if log := bastion.Log(); strings.Contains(log, "Failed password") {
		t.Fatalf("the node password was offered to the bastion:\n%s", log)
	}
	if !strings.Contains(bastion.Log(), "Failed publickey") && !strings.Contains(bastion.Log(), "Connection closed by authenticating user") {
		t.Fatalf("the bastion saw no login at all, the test proves nothing:\n%s", bastion.Log())
	}
}
