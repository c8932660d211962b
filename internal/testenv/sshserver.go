// Package testenv starts real things for tests: an in-process SSH server
// that runs commands with /bin/sh, and (in local.go) VM-like local nodes.
package testenv

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// SSHServer is an in-process SSH server on loopback. Commands run for real
// through /bin/sh on this machine.
type SSHServer struct {
	Addr string
	// HostKey is the server's public key in authorized_keys format.
	HostKey string
	// rewrite, when set (Rewrite), replaces each command before it runs.
	rewrite atomic.Pointer[func(string) string]

	cfg      *ssh.ServerConfig
	ln       net.Listener
	mu       sync.Mutex
	conns    map[net.Conn]bool
	authFrom atomic.Int64 // unix nanos before which logins are refused
	Execs    atomic.Int64 // exec requests served
	// Conns counts the TCP connections accepted.
	Conns atomic.Int64

	slowConns, slowSessions atomic.Int64 // how many more to delay (slow.go)
	connDelay, sessionDelay atomic.Int64 // by how long (nanoseconds)
	gauge                   atomic.Pointer[Gauge]
}

// NewSigner returns a fresh ed25519 key.
func NewSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// StartSSHServer serves on addr ("127.0.0.1:0" for any port), accepting
// the client key. It stops when the test ends.
func StartSSHServer(t testing.TB, addr string, client ssh.PublicKey) *SSHServer {
	t.Helper()
	return StartSSHServerWithKey(t, addr, client, NewSigner(t))
}

// StartSSHServerWithKey is StartSSHServer with a given host key.
func StartSSHServerWithKey(t testing.TB, addr string, client ssh.PublicKey, hostKey ssh.Signer) *SSHServer {
	t.Helper()
	s := &SSHServer{conns: map[net.Conn]bool{}}
	s.cfg = &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if time.Now().UnixNano() < s.authFrom.Load() {
				return nil, errors.New("not yet")
			}
			if string(k.Marshal()) == string(client.Marshal()) {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("unknown key")
		},
	}
	s.cfg.AddHostKey(hostKey)
	s.HostKey = string(ssh.MarshalAuthorizedKey(hostKey.PublicKey()))
	s.HostKey = s.HostKey[:len(s.HostKey)-1]
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	s.Addr = ln.Addr().String()
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Port is the listening port.
func (s *SSHServer) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Rewrite makes the server run f(cmd) instead of each command cmd: a test
// plays a node that answers what it likes (a hostile attendee's node1).
func (s *SSHServer) Rewrite(f func(cmd string) string) { s.rewrite.Store(&f) }

// RefuseLoginsFor makes the server refuse every login for d, as a VM does
// before cloud-init installed the key.
func (s *SSHServer) RefuseLoginsFor(d time.Duration) {
	s.authFrom.Store(time.Now().Add(d).UnixNano())
}

// DropConnections closes every open connection, as an sshd restart does.
func (s *SSHServer) DropConnections() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// Close stops listening and drops every connection.
func (s *SSHServer) Close() {
	s.ln.Close()
	s.DropConnections()
}

func (s *SSHServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		go s.handle(c)
	}
}

func (s *SSHServer) handle(c net.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	s.Conns.Add(1)
	g := s.gauge.Load()
	if g != nil {
		g.inc()
	}
	conn := c
	if take(&s.slowConns) {
		conn = stall(c, time.Duration(s.connDelay.Load()))
	}
	var err error
	var sc *ssh.ServerConn
	var chans <-chan ssh.NewChannel
	var reqs <-chan *ssh.Request
	if conn != nil {
		sc, chans, reqs, err = ssh.NewServerConn(conn, s.cfg)
	}
	if g != nil {
		g.dec()
	}
	if conn == nil || err != nil {
		return
	}
	defer sc.Close()
	go func() {
		for r := range reqs {
			if r.WantReply {
				r.Reply(r.Type == "keepalive@openssh.com", nil)
			}
		}
	}()
	for nc := range chans {
		switch nc.ChannelType() {
		case "session":
			if take(&s.slowSessions) {
				go func() { time.Sleep(time.Duration(s.sessionDelay.Load())); s.session(nc) }()
				continue
			}
			go s.session(nc)
		case "direct-tcpip":
			go directTCPIP(nc)
		default:
			nc.Reject(ssh.UnknownChannelType, "no")
		}
	}
}

func (s *SSHServer) session(nc ssh.NewChannel) {
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	defer ch.Close()
	for r := range reqs {
		switch r.Type {
		case "exec":
			var p struct{ Cmd string }
			if ssh.Unmarshal(r.Payload, &p) != nil {
				r.Reply(false, nil)
				continue
			}
			r.Reply(true, nil)
			s.Execs.Add(1)
			cmd := p.Cmd
			if f := s.rewrite.Load(); f != nil {
				cmd = (*f)(cmd)
			}
			code := run(ch, cmd, reqs)
			ch.SendRequest("exit-status", false, ssh.Marshal(struct{ C uint32 }{uint32(code)}))
			return
		case "subsystem":
			var p struct{ Name string }
			if ssh.Unmarshal(r.Payload, &p) != nil || p.Name != "sftp" {
				r.Reply(false, nil)
				continue
			}
			r.Reply(true, nil)
			srv, err := sftp.NewServer(ch)
			if err == nil {
				_ = srv.Serve()
			}
			return
		default:
			if r.WantReply {
				r.Reply(r.Type == "env" || r.Type == "pty-req", nil)
			}
		}
	}
}

// run executes cmd with sh; a "signal" request kills it.
func run(ch ssh.Channel, cmd string, reqs <-chan *ssh.Request) int {
	c := exec.Command("/bin/sh", "-c", cmd)
	c.Stdin, c.Stdout, c.Stderr = ch, ch, ch.Stderr()
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		fmt.Fprintln(ch.Stderr(), err)
		return 127
	}
	go func() {
		for r := range reqs {
			if r.Type == "signal" && c.Process != nil {
				_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			}
			if r.WantReply {
				r.Reply(false, nil)
			}
		}
	}()
	err := c.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ee.ExitCode() < 0 {
			return 137
		}
		return ee.ExitCode()
	}
	return 0
}

func directTCPIP(nc ssh.NewChannel) {
	d := nc.ExtraData()
	if len(d) < 4 {
		nc.Reject(ssh.ConnectionFailed, "bad payload")
		return
	}
	n := binary.BigEndian.Uint32(d)
	if len(d) < int(4+n+4) {
		nc.Reject(ssh.ConnectionFailed, "bad payload")
		return
	}
	host := string(d[4 : 4+n])
	port := binary.BigEndian.Uint32(d[4+n:])
	conn, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(int(port))))
	if err != nil {
		nc.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		conn.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	go func() { io.Copy(ch, conn); ch.CloseWrite() }()
	io.Copy(conn, ch)
	conn.Close()
	ch.Close()
}
