package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// authError: sshd refused the login (as opposed to sshd not answering).
type authError struct{ err error }

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// dial opens an SSH connection to the node's sshd as user, verifying the
// host key against the node's own keys. sshd drops some of many
// handshakes that arrive at once (MaxStartups): a connection reset before
// authentication is tried again, twice, never a refused password.
func (s *Server) dial(user, password string) (*ssh.Client, error) {
	var err error
	for try, wait := 0, 200*time.Millisecond; try < 3; try, wait = try+1, wait*3 {
		var c *ssh.Client
		if c, err = s.dialOnce(user, password); err == nil {
			return c, nil
		}
		if !dropped(err) {
			return nil, err
		}
		time.Sleep(wait)
	}
	return nil, err
}

// dropped: sshd closed the connection before authentication.
func dropped(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "connection reset by peer")
}

func (s *Server) dialOnce(user, password string) (*ssh.Client, error) {
	cfg := &ssh.ClientConfig{
		User: user,
		// Password only: labctl's login step turns PasswordAuthentication
		// on, and each method sshd refuses costs PAM's failure delay (a
		// second method doubled a wrong password's answer to 6 s).
		Auth:            []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: s.hostKey,
		Timeout:         10 * time.Second,
	}
	conn, err := net.DialTimeout("tcp", s.cfg.SSHAddr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	c, chans, reqs, err := ssh.NewClientConn(conn, s.cfg.SSHAddr, cfg)
	if err != nil {
		conn.Close()
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, &authError{err}
		}
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

func (s *Server) hostKey(_ string, _ net.Addr, key ssh.PublicKey) error {
	for _, k := range s.cfg.HostKeys {
		if k.Type() == key.Type() && bytes.Equal(k.Marshal(), key.Marshal()) {
			return nil
		}
	}
	return fmt.Errorf("sshd at %s presented a %s host key that is not one of this node's", s.cfg.SSHAddr, key.Type())
}

// HostKeys reads the node's public host keys (/etc/ssh/ssh_host_*_key.pub,
// readable by every user).
func HostKeys(dir string) ([]ssh.PublicKey, error) {
	files, err := filepath.Glob(filepath.Join(dir, "ssh_host_*_key.pub"))
	if err != nil {
		return nil, err
	}
	var keys []ssh.PublicKey
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		k, _, _, _, err := ssh.ParseAuthorizedKey(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no host key in %s (ssh_host_*_key.pub)", dir)
	}
	return keys, nil
}
