package agent

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/crypto/ssh"
)

// testSSHD is a password-checking SSH server on loopback that runs each
// session's command for real, under a pty (as sshd does), with its own
// tmux socket directory: what the agent sees from a node's sshd.
type testSSHD struct {
	addr    string
	hostKey ssh.PublicKey
	mu      sync.Mutex
	logins  int
	live    int // authenticated connections still open
}

func (s *testSSHD) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

func startSSHD(t *testing.T, user, password string) *testSSHD {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	s := &testSSHD{hostKey: signer.PublicKey()}
	cfg := &ssh.ServerConfig{PasswordCallback: func(c ssh.ConnMetadata, p []byte) (*ssh.Permissions, error) {
		if c.User() == user && string(p) == password {
			s.mu.Lock()
			s.logins++
			s.mu.Unlock()
			return nil, nil
		}
		return nil, io.ErrUnexpectedEOF
	}}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s.addr = ln.Addr().String()
	tmux := t.TempDir()
	t.Cleanup(func() { exec.Command("tmux", "-S", tmux+"/tmux-0/default", "kill-server").Run() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
				if err != nil {
					c.Close()
					return
				}
				s.mu.Lock()
				s.live++
				s.mu.Unlock()
				go func() {
					sc.Wait()
					s.mu.Lock()
					s.live--
					s.mu.Unlock()
				}()
				go ssh.DiscardRequests(reqs)
				for nc := range chans {
					go session(nc, tmux)
				}
			}()
		}
	}()
	return s
}

func session(nc ssh.NewChannel, tmuxDir string) {
	ch, reqs, err := nc.Accept()
	if err != nil {
		return
	}
	defer ch.Close()
	var ptmx *os.File
	var cols, rows uint32 = 80, 24
	for r := range reqs {
		switch r.Type {
		case "pty-req":
			// string term, uint32 cols, rows, ...
			if len(r.Payload) >= 4 {
				n := binary.BigEndian.Uint32(r.Payload)
				if p := r.Payload[4+n:]; len(p) >= 8 {
					cols, rows = binary.BigEndian.Uint32(p), binary.BigEndian.Uint32(p[4:])
				}
			}
			r.Reply(true, nil)
		case "window-change":
			if ptmx != nil && len(r.Payload) >= 8 {
				pty.Setsize(ptmx, &pty.Winsize{Cols: uint16(binary.BigEndian.Uint32(r.Payload)), Rows: uint16(binary.BigEndian.Uint32(r.Payload[4:]))})
			}
		case "exec":
			n := binary.BigEndian.Uint32(r.Payload)
			cmd := exec.Command("sh", "-c", string(r.Payload[4:4+n]))
			cmd.Env = append(os.Environ(), "TERM=xterm-256color", "TMUX_TMPDIR="+tmuxDir, "SHELL=/bin/sh", "PS1=$ ")
			ptmx, err = pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
			if err != nil {
				r.Reply(false, nil)
				return
			}
			r.Reply(true, nil)
			go io.Copy(ptmx, ch)
			go func() {
				io.Copy(ch, ptmx)
				cmd.Wait()
				ch.SendRequest("exit-status", false, []byte{0, 0, 0, 0})
				ch.Close()
			}()
		default:
			r.Reply(false, nil)
		}
	}
	if ptmx != nil {
		ptmx.Close()
	}
}
