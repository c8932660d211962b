package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// ErrHostKeyMismatch is a host that offered a key other than the pinned one.
var ErrHostKeyMismatch = errors.New("host key mismatch")

// ErrConnectionLost is a command whose connection dropped before it ended;
// whether it ran is unknown.
var ErrConnectionLost = errors.New("connection lost during the command")

// HostKeyError says which host offered which key instead of the pinned one.
type HostKeyError struct {
	Host, Addr    string
	Pinned, Offer string // fingerprints
	Hint          string
}

func (e *HostKeyError) Error() string {
	msg := fmt.Sprintf("%s (%s): host key changed: pinned %s, offered %s; refusing to connect", e.Host, e.Addr, e.Pinned, e.Offer)
	if e.Hint != "" {
		msg += ". If the host was rebuilt on purpose: " + e.Hint
	}
	return msg
}

func (e *HostKeyError) Is(target error) bool { return target == ErrHostKeyMismatch }

// DialError is a failed connection to a host, after retries if it was worth
// retrying. Retryable tells whether a later attempt may succeed.
type DialError struct {
	Host, Addr string
	Attempts   int
	Retryable  bool
	Err        error
}

func (e *DialError) Error() string {
	s := fmt.Sprintf("%s (%s): cannot connect", e.Host, e.Addr)
	if e.Attempts > 1 {
		s += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return s + ": " + e.Err.Error()
}

func (e *DialError) Unwrap() error { return e.Err }

// failure classes for dial errors
type failure int

const (
	final     failure = iota // do not retry: wrong key, mismatch, bad config
	transient                // refused, timeout, reset, handshake EOF: the host is booting
	authWait                 // login refused: the key may not be installed yet
)

func classify(err error) failure {
	if err == nil {
		return final
	}
	if errors.Is(err, ErrHostKeyMismatch) {
		return final
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && !dnsErr.Temporary() {
		return final
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, context.DeadlineExceeded) {
		return transient
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return transient
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "unable to authenticate"):
		return authWait
	case strings.Contains(msg, "handshake failed: EOF"), strings.Contains(msg, "connection reset"):
		return transient
	}
	return final
}

// backoff returns the pause before attempt n (1-based): 250 ms doubling to 4 s.
func backoff(n int) time.Duration {
	d := 250 * time.Millisecond
	for i := 1; i < n && d < 4*time.Second; i++ {
		d *= 2
	}
	return min(d, 4*time.Second)
}

// dialRetry connects to h, retrying transient failures for RetryWindow and
// refused logins for AuthRetryWindow, never past ctx.
func (e *Engine) dialRetry(ctx context.Context, h Host) (*ssh.Client, error) {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		c, err := e.dialOnce(ctx, h)
		if err == nil {
			return c, nil
		}
		class := classify(err)
		window := e.cfg.RetryWindow
		if class == authWait {
			window = e.cfg.AuthRetryWindow
		}
		wait := backoff(attempt)
		if class == final || time.Since(start)+wait > window || ctx.Err() != nil {
			var hk *HostKeyError
			if errors.As(err, &hk) {
				return nil, hk
			}
			return nil, &DialError{Host: h.Name, Addr: h.Addr(), Attempts: attempt, Retryable: class != final, Err: err}
		}
		select {
		case <-ctx.Done():
			return nil, &DialError{Host: h.Name, Addr: h.Addr(), Attempts: attempt, Retryable: true, Err: context.Cause(ctx)}
		case <-time.After(wait):
		}
	}
}

func (e *Engine) dialOnce(ctx context.Context, h Host) (*ssh.Client, error) {
	cfg, err := e.clientConfig(h, e.cfg.User, e.cfg.Password)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.DialTimeout)
	defer cancel()
	var conn net.Conn
	if e.cfg.Bastion != nil {
		jump, err := e.bastion(ctx)
		if err != nil {
			return nil, err
		}
		conn, err = jump.DialContext(ctx, "tcp", h.Addr())
		if err != nil {
			e.dropBastion(jump)
			return nil, fmt.Errorf("through bastion %s: %w", e.cfg.Bastion.Addr(), err)
		}
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", h.Addr())
		if err != nil {
			return nil, err
		}
	}
	return handshake(ctx, conn, h.Addr(), cfg)
}

// handshake runs the SSH handshake on conn, bounded by ctx.
func handshake(ctx context.Context, conn net.Conn, addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(c, chans, reqs), nil
}

// clientConfig logs in as user with the keys and, when not empty, password:
// the nodes' password is theirs, never offered to the bastion.
func (e *Engine) clientConfig(h Host, user, password string) (*ssh.ClientConfig, error) {
	auth := []ssh.AuthMethod{}
	if len(e.cfg.Signers) > 0 {
		auth = append(auth, ssh.PublicKeys(e.cfg.Signers...))
	}
	if password != "" {
		auth = append(auth, ssh.Password(password))
	}
	cfg := &ssh.ClientConfig{
		User:            user,
		Auth:            auth,
		HostKeyCallback: e.hostKeyCallback(h),
		Timeout:         e.cfg.DialTimeout,
	}
	pinned, err := e.pinnedKey(h)
	if err != nil {
		return nil, err
	}
	if pinned != nil {
		// Ask for the pinned key's type, or a host with several keys could
		// offer another one and look changed.
		cfg.HostKeyAlgorithms = algorithmsFor(pinned.Type())
	}
	return cfg, nil
}

func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// pinnedKey is the key pinned for h: recorded this run, or from the state.
func (e *Engine) pinnedKey(h Host) (ssh.PublicKey, error) {
	line := h.HostKey
	e.mu.Lock()
	if k, ok := e.learned[h.Addr()]; ok {
		line = k
	}
	e.mu.Unlock()
	if line == "" {
		return nil, nil
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, fmt.Errorf("%s: pinned host key is unreadable: %w", h.Name, err)
	}
	return k, nil
}

func (e *Engine) hostKeyCallback(h Host) ssh.HostKeyCallback {
	return func(_ string, _ net.Addr, offered ssh.PublicKey) error {
		pinned, err := e.pinnedKey(h)
		if err != nil {
			return err
		}
		if pinned != nil {
			if bytes.Equal(pinned.Marshal(), offered.Marshal()) {
				return nil
			}
			hint := ""
			if e.cfg.MismatchHint != nil {
				hint = e.cfg.MismatchHint(h)
			}
			return &HostKeyError{Host: h.Name, Addr: h.Addr(), Pinned: ssh.FingerprintSHA256(pinned), Offer: ssh.FingerprintSHA256(offered), Hint: hint}
		}
		if e.cfg.Pin == nil {
			return fmt.Errorf("%s (%s): no pinned host key and first-use trust is off", h.Name, h.Addr())
		}
		line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(offered)))
		if err := e.cfg.Pin(h, line); err != nil {
			return fmt.Errorf("%s: recording host key: %w", h.Name, err)
		}
		e.mu.Lock()
		e.learned[h.Addr()] = line
		e.mu.Unlock()
		return nil
	}
}
