package remote_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/labctl/labctl/internal/testenv"
	"github.com/labctl/labctl/remote"
)

type rig struct {
	key    ssh.Signer
	srv    *testenv.SSHServer
	pinned []string
	mu     sync.Mutex
}

func newRig(t *testing.T) *rig {
	r := &rig{key: testenv.NewSigner(t)}
	r.srv = testenv.StartSSHServer(t, "127.0.0.1:0", r.key.PublicKey())
	return r
}

func (r *rig) engine(t *testing.T, mod func(*remote.Config)) *remote.Engine {
	cfg := remote.Config{
		User:    "root",
		Signers: []ssh.Signer{r.key},
		Pin: func(h remote.Host, key string) error {
			r.mu.Lock()
			r.pinned = append(r.pinned, h.Name+" "+key)
			r.mu.Unlock()
			return nil
		},
		DialTimeout: 2 * time.Second,
		RetryWindow: 3 * time.Second,
		LogDir:      t.TempDir(),
	}
	if mod != nil {
		mod(&cfg)
	}
	e := remote.NewEngine(cfg)
	t.Cleanup(func() { e.Close() })
	return e
}

func hostOf(s *testenv.SSHServer, pinned string) remote.Host {
	host, _, _ := net.SplitHostPort(s.Addr)
	return remote.Host{Name: "01/node1", Address: host, Port: s.Port(), HostKey: pinned}
}

func TestRunOutputAndExitCode(t *testing.T) {
	r := newRig(t)
	x := r.engine(t, nil).Host(hostOf(r.srv, r.srv.HostKey))
	res, err := x.Run(context.Background(), remote.Command{Line: "echo hello; echo oops >&2"})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "hello\n" || string(res.Stderr) != "oops\n" {
		t.Fatalf("stdout %q stderr %q", res.Stdout, res.Stderr)
	}
	_, err = x.Run(context.Background(), remote.Command{Line: "echo broken; exit 3"})
	var ee *remote.ExitError
	if !errors.As(err, &ee) || ee.ExitCode != 3 || !strings.Contains(ee.Output, "broken") || ee.Host != "01/node1" {
		t.Fatalf("want ExitError 3 naming host and output, got %v", err)
	}
	res, err = x.Run(context.Background(), remote.Command{Line: "cat", Stdin: strings.NewReader("via stdin")})
	if err != nil || string(res.Stdout) != "via stdin" {
		t.Fatalf("stdin: %q %v", res.Stdout, err)
	}
}

func TestConnectionReusedAcrossCommands(t *testing.T) {
	r := newRig(t)
	var dials atomic.Int64
	e := r.engine(t, func(c *remote.Config) {
		c.Pin = func(remote.Host, string) error { dials.Add(1); return nil }
	})
	x := e.Host(hostOf(r.srv, ""))
	for i := 0; i < 5; i++ {
		if _, err := x.Run(context.Background(), remote.Command{Line: "true"}); err != nil {
			t.Fatal(err)
		}
	}
	// The key is offered (and pinned) once per handshake: once means one connection.
	if dials.Load() != 1 {
		t.Fatalf("want one handshake for 5 commands, got %d", dials.Load())
	}
}

func TestContextDeadlineStopsCommand(t *testing.T) {
	r := newRig(t)
	x := r.engine(t, nil).Host(hostOf(r.srv, r.srv.HostKey))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := x.Run(ctx, remote.Command{Line: "sleep 20"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("command outlived its deadline: %s", took)
	}
	// The engine is still usable afterwards.
	if _, err := x.Run(context.Background(), remote.Command{Line: "true"}); err != nil {
		t.Fatal(err)
	}
}

func TestHandshakeTimeout(t *testing.T) {
	// A server that accepts TCP and never speaks SSH.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	r := newRig(t)
	e := r.engine(t, func(c *remote.Config) { c.DialTimeout = 300 * time.Millisecond; c.RetryWindow = time.Second })
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	h := remote.Host{Name: "01/node9", Address: host}
	_, _ = net.LookupPort("tcp", port)
	h.Port = ln.Addr().(*net.TCPAddr).Port
	start := time.Now()
	_, err = e.Host(h).Run(context.Background(), remote.Command{Line: "true"})
	var de *remote.DialError
	if !errors.As(err, &de) || !de.Retryable || de.Attempts < 2 {
		t.Fatalf("want a retryable DialError after retries, got %#v", err)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Fatalf("dial retries outlived the window: %s", took)
	}
	if !strings.Contains(err.Error(), "01/node9") {
		t.Fatalf("error does not name the host: %v", err)
	}
}

func TestHostKeyPinning(t *testing.T) {
	r := newRig(t)
	e := r.engine(t, nil)
	if _, err := e.Host(hostOf(r.srv, "")).Run(context.Background(), remote.Command{Line: "true"}); err != nil {
		t.Fatal(err)
	}
	if len(r.pinned) != 1 || !strings.HasSuffix(r.pinned[0], r.srv.HostKey) {
		t.Fatalf("first contact must record the offered key, pinned %q", r.pinned)
	}

	// Same address, new host key: a rebuilt or impostor host.
	addr := r.srv.Addr
	r.srv.Close()
	impostor := testenv.StartSSHServer(t, addr, r.key.PublicKey())
	e2 := r.engine(t, func(c *remote.Config) {
		c.MismatchHint = func(h remote.Host) string { return "labctl trust --cluster 1 --node node1" }
	})
	start := time.Now()
	_, err := e2.Host(hostOf(impostor, strings.TrimPrefix(r.pinned[0], "01/node1 "))).Run(context.Background(), remote.Command{Line: "true"})
	if !errors.Is(err, remote.ErrHostKeyMismatch) {
		t.Fatalf("want host key mismatch, got %v", err)
	}
	for _, want := range []string{"01/node1", "host key changed", "labctl trust --cluster 1 --node node1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if time.Since(start) > time.Second {
		t.Errorf("a mismatch is final and must not be retried (took %s)", time.Since(start))
	}
	if impostor.Execs.Load() != 0 {
		t.Fatal("a command reached a host whose key changed")
	}
}

func TestNoPinAndNoTrustRefuses(t *testing.T) {
	r := newRig(t)
	e := r.engine(t, func(c *remote.Config) { c.Pin = nil })
	_, err := e.Host(hostOf(r.srv, "")).Run(context.Background(), remote.Command{Line: "true"})
	if err == nil || !strings.Contains(err.Error(), "no pinned host key") {
		t.Fatalf("want refusal without a pinned key, got %v", err)
	}
}

func TestDialRetriesUntilServerListens(t *testing.T) {
	key := testenv.NewSigner(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	var srv *testenv.SSHServer
	started := make(chan struct{})
	go func() {
		time.Sleep(800 * time.Millisecond)
		srv = testenv.StartSSHServer(t, addr, key.PublicKey())
		close(started)
	}()
	r := &rig{key: key}
	e := r.engine(t, func(c *remote.Config) { c.RetryWindow = 10 * time.Second })
	host, _, _ := net.SplitHostPort(addr)
	h := remote.Host{Name: "01/node1", Address: host, Port: ln.Addr().(*net.TCPAddr).Port}
	if _, err := e.Host(h).Run(context.Background(), remote.Command{Line: "true"}); err != nil {
		t.Fatalf("refused dials must be retried: %v", err)
	}
	<-started
	_ = srv
}

func TestAuthRetriedForABoundedWindow(t *testing.T) {
	r := newRig(t)
	r.srv.RefuseLoginsFor(700 * time.Millisecond)
	e := r.engine(t, func(c *remote.Config) { c.AuthRetryWindow = 5 * time.Second })
	if _, err := e.Host(hostOf(r.srv, r.srv.HostKey)).Run(context.Background(), remote.Command{Line: "true"}); err != nil {
		t.Fatalf("a login refused while the key is being installed must be retried: %v", err)
	}

	// A key the server never accepts fails once the window is over.
	stranger := testenv.NewSigner(t)
	e2 := r.engine(t, func(c *remote.Config) { c.Signers = []ssh.Signer{stranger}; c.AuthRetryWindow = 600 * time.Millisecond })
	start := time.Now()
	_, err := e2.Host(hostOf(r.srv, r.srv.HostKey)).Run(context.Background(), remote.Command{Line: "true"})
	var de *remote.DialError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("want an authentication DialError, got %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("auth retries outlived their window: %s", took)
	}
}

func TestReconnectAfterConnectionsDropped(t *testing.T) {
	r := newRig(t)
	x := r.engine(t, nil).Host(hostOf(r.srv, r.srv.HostKey))
	if _, err := x.Run(context.Background(), remote.Command{Line: "true"}); err != nil {
		t.Fatal(err)
	}
	r.srv.DropConnections() // sshd restarted
	time.Sleep(50 * time.Millisecond)
	res, err := x.Run(context.Background(), remote.Command{Line: "echo back"})
	if err != nil || string(res.Stdout) != "back\n" {
		t.Fatalf("engine did not reconnect: %q %v", res.Stdout, err)
	}
}

func TestConnectionLostMidCommand(t *testing.T) {
	r := newRig(t)
	x := r.engine(t, nil).Host(hostOf(r.srv, r.srv.HostKey))
	// Drop once the command runs: a drop during the handshake is a retried dial.
	m := marker(t)
	go func() { testenv.WaitProcess(t, "sleep "+m); r.srv.DropConnections() }()
	_, err := x.Run(context.Background(), remote.Command{Line: "sleep " + m})
	if !errors.Is(err, remote.ErrConnectionLost) || !strings.Contains(err.Error(), "01/node1") {
		t.Fatalf("want connection lost naming the host, got %v", err)
	}
}

func TestUploadChecksumAndMode(t *testing.T) {
	r := newRig(t)
	x := r.engine(t, nil).Host(hostOf(r.srv, r.srv.HostKey))
	data := make([]byte, 3<<20+7)
	rand.Read(data)
	dst := filepath.Join(t.TempDir(), "new", "dir", "blob.bin") // parents are made
	if err := x.Upload(context.Background(), bytes.NewReader(data), dst, 0o640); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("uploaded content differs (%d bytes, %v)", len(got), err)
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, want 0640", fi.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".*labctl-*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
	// A reader that fails mid-way leaves nothing at dst.
	dst2 := filepath.Join(filepath.Dir(dst), "partial.bin")
	err = x.Upload(context.Background(), io.MultiReader(bytes.NewReader(data[:1000]), failingReader{}), dst2, 0o600)
	if err == nil {
		t.Fatal("an upload whose source failed must fail")
	}
	if _, statErr := os.Stat(dst2); !os.IsNotExist(statErr) {
		t.Fatalf("a failed upload left %s", dst2)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestTunnel(t *testing.T) {
	r := newRig(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(c, c)
			c.Close()
		}
	}()
	x := r.engine(t, nil).Host(hostOf(r.srv, r.srv.HostKey))
	conn, err := x.Tunnel(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo through tunnel: %q %v", buf, err)
	}
}

func TestSecretsRedactedFromLogsAndErrors(t *testing.T) {
	r := newRig(t)
	logs := t.TempDir()
	e := r.engine(t, func(c *remote.Config) { c.LogDir = logs; c.Secrets = []string{"hunter2-pass"} })
	x := e.Host(hostOf(r.srv, r.srv.HostKey))
	_, err := x.Run(context.Background(), remote.Command{Line: "echo hunter2-pass; echo tok-abcdef123456; exit 1", Secrets: []string{"tok-abcdef123456"}})
	if err == nil || strings.Contains(err.Error(), "hunter2-pass") || strings.Contains(err.Error(), "tok-abcdef123456") {
		t.Fatalf("error leaks a secret or is missing: %v", err)
	}
	data, _ := os.ReadFile(filepath.Join(logs, "01-node1.log"))
	if !strings.Contains(string(data), remote.Redacted) || strings.Contains(string(data), "hunter2-pass") || strings.Contains(string(data), "tok-abcdef123456") {
		t.Fatalf("log not redacted:\n%s", data)
	}
}

func TestThroughBastion(t *testing.T) {
	r := newRig(t)
	bastion := testenv.StartSSHServer(t, "127.0.0.1:0", r.key.PublicKey())
	bh, _, _ := net.SplitHostPort(bastion.Addr)
	e := r.engine(t, func(c *remote.Config) {
		c.Bastion = &remote.Host{Name: "bastion", Address: bh, Port: bastion.Port(), HostKey: bastion.HostKey}
	})
	res, err := e.Host(hostOf(r.srv, r.srv.HostKey)).Run(context.Background(), remote.Command{Line: "echo via-bastion"})
	if err != nil || string(res.Stdout) != "via-bastion\n" {
		t.Fatalf("through the bastion: %q %v", res.Stdout, err)
	}
	if bastion.Execs.Load() != 0 || r.srv.Execs.Load() != 1 {
		t.Fatalf("the command must run on the node, not the bastion (bastion %d, node %d)", bastion.Execs.Load(), r.srv.Execs.Load())
	}
	// A bastion whose key changed is refused like any host.
	e2 := r.engine(t, func(c *remote.Config) {
		c.Bastion = &remote.Host{Name: "bastion", Address: bh, Port: bastion.Port(), HostKey: r.srv.HostKey}
	})
	if _, err := e2.Host(hostOf(r.srv, r.srv.HostKey)).Run(context.Background(), remote.Command{Line: "true"}); !errors.Is(err, remote.ErrHostKeyMismatch) {
		t.Fatalf("want a bastion host key mismatch, got %v", err)
	}
}

func TestSudoWhenNotRoot(t *testing.T) {
	if _, err := exec.LookPath("sudo"); err != nil {
		t.Fatal("sudo is not installed (scripts/deps installs it)")
	}
	r := newRig(t)
	// The in-process server accepts any user name and runs as this process's
	// user; what matters is the command line the engine sends.
	x := r.engine(t, func(c *remote.Config) { c.User = "k8s" }).Host(hostOf(r.srv, r.srv.HostKey))
	res, err := x.Run(context.Background(), remote.Command{Line: "echo \"$SUDO_COMMAND\""})
	if err != nil || !strings.Contains(string(res.Stdout), "sh -c") {
		t.Fatalf("a non-root login must run commands through sudo: %q %v", res.Stdout, err)
	}
	res, err = x.Run(context.Background(), remote.Command{Line: "echo \"[$SUDO_COMMAND]\"", AsLogin: true})
	if err != nil || string(res.Stdout) != "[]\n" {
		t.Fatalf("AsLogin must not use sudo: %q %v", res.Stdout, err)
	}
}
