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
	// Stage is what failed last: StageTCP, StageHandshake, StageAuth or
	// StageCommand (empty when the run stopped before an attempt ended).
	Stage string
	// Took is the time from the first attempt to the last one's end.
	Took time.Duration
	Err  error
}

// What a connection attempt was doing when it failed.
const (
	StageTCP       = "tcp"       // connecting (refused, no route, timeout)
	StageHandshake = "handshake" // the SSH handshake (no banner, key exchange)
	StageAuth      = "auth"      // the login was refused
	StageCommand   = "command"   // opening the session of the first command
)

func (e *DialError) Error() string {
	s := fmt.Sprintf("%s (%s): cannot connect", e.Host, e.Addr)
	if e.Attempts > 1 {
		s += fmt.Sprintf(" after %d attempts in %s", e.Attempts, e.Took.Round(100*time.Millisecond))
	}
	if e.Stage != "" {
		s += " (" + e.Stage + ")"
	}
	return s + ": " + e.Err.Error()
}

func (e *DialError) Unwrap() error { return e.Err }

// stageError is an attempt's error with the stage it failed at.
type stageError struct {
	stage string
	err   error
}

func (e *stageError) Error() string { return e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

func stageOf(err error) string {
	var se *stageError
	if errors.As(err, &se) {
		return se.stage
	}
	return ""
}

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

// dialRetry connects to h and opens the first session, retrying with
// backoff what may pass: refusals, resets and timeouts (a busy machine is
// slow, not dead) within the budget (see Budget), refused logins within
// AuthRetryWindow, never past ctx. Each attempt first waits for a
// handshake slot (see limiter); the budget starts with the first attempt,
// not while the host waits its turn. An attempt that timed out gives the
// next one twice its time, up to 4x DialTimeout.
func (e *Engine) dialRetry(ctx context.Context, h Host) (*ssh.Client, *ssh.Session, error) {
	var start time.Time
	budget := e.Budget()
	timeout := e.cfg.DialTimeout
	fail := func(attempts int, retryable bool, err error) error {
		var hk *HostKeyError
		if errors.As(err, &hk) {
			return hk
		}
		took := time.Duration(0)
		if !start.IsZero() {
			took = time.Since(start)
		}
		return &DialError{Host: h.Name, Addr: h.Addr(), Attempts: attempts, Retryable: retryable, Stage: stageOf(err), Took: took, Err: err}
	}
	for attempt := 1; ; attempt++ {
		gen, err := e.hs.acquire(ctx)
		if err != nil {
			return nil, nil, fail(attempt-1, true, err)
		}
		if start.IsZero() {
			start = time.Now()
			startTurn(ctx)
		}
		t := max(min(timeout, budget-time.Since(start)), time.Millisecond)
		c, err := e.dialOnce(ctx, h, t)
		e.hs.release(gen, err == nil, err != nil && timedOut(err) && ctx.Err() == nil)
		var sess *ssh.Session
		if err == nil {
			if sess, err = firstSession(ctx, c, t); err == nil {
				return c, sess, nil
			}
			c.Close()
		}
		class := classify(err)
		window := budget
		if class == authWait {
			window = e.cfg.AuthRetryWindow
		}
		if timedOut(err) {
			timeout = min(2*timeout, 4*e.cfg.DialTimeout)
		}
		wait := backoff(attempt)
		if class == final || time.Since(start)+wait > window || ctx.Err() != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
			}
			return nil, nil, fail(attempt, class != final, err)
		}
		select {
		case <-ctx.Done():
			return nil, nil, fail(attempt, true, context.Cause(ctx))
		case <-time.After(wait):
		}
	}
}

func timedOut(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// firstSession opens a fresh connection's first session within t. A
// server too busy to open it is closed and dialled again: no command has
// been asked for yet, so this is safe for any command.
func firstSession(ctx context.Context, c *ssh.Client, t time.Duration) (*ssh.Session, error) {
	type opened struct {
		s   *ssh.Session
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		s, err := c.NewSession()
		ch <- opened{s, err}
	}()
	timer := time.NewTimer(t)
	defer timer.Stop()
	var err error
	select {
	case o := <-ch:
		if o.err == nil {
			return o.s, nil
		}
		err = o.err
	case <-timer.C:
		err = fmt.Errorf("no session within %s: %w", t, context.DeadlineExceeded)
	case <-ctx.Done():
		err = context.Cause(ctx)
	}
	c.Close() // ends a NewSession still waiting
	return nil, &stageError{StageCommand, fmt.Errorf("opening a session: %w", err)}
}

// session opens a session on h for one command. A fresh connection's
// first session comes from dialRetry; a cached connection that died since
// its last use is dialled again once.
func (e *Engine) session(ctx context.Context, h Host) (*client, *ssh.Session, error) {
	c, sess, err := e.open(ctx, h)
	if err != nil || sess != nil {
		return c, sess, err
	}
	if sess, err = c.ssh.NewSession(); err == nil {
		return c, sess, nil
	}
	e.drop(h, c)
	if c, sess, err = e.open(ctx, h); err != nil || sess != nil {
		return c, sess, err
	}
	if sess, err = c.ssh.NewSession(); err != nil { // another command's fresh connection
		e.drop(h, c)
		return nil, nil, fmt.Errorf("%s: new session: %w: %w", h.Name, ErrConnectionLost, err)
	}
	return c, sess, nil
}

// dialOnce connects to h (TCP, handshake, login) within t.
func (e *Engine) dialOnce(ctx context.Context, h Host, t time.Duration) (*ssh.Client, error) {
	cfg, err := e.clientConfig(h, e.cfg.User, e.cfg.Password)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	var conn net.Conn
	if e.cfg.Bastion != nil {
		jump, err := e.bastion(ctx)
		if err != nil {
			return nil, &stageError{StageTCP, err}
		}
		conn, err = jump.DialContext(ctx, "tcp", h.Addr())
		if err != nil {
			e.dropBastion(jump)
			return nil, &stageError{StageTCP, fmt.Errorf("through bastion %s: %w", e.cfg.Bastion.Addr(), err)}
		}
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", h.Addr())
		if err != nil {
			return nil, &stageError{StageTCP, err}
		}
	}
	c, err := handshake(ctx, conn, h.Addr(), cfg)
	if err != nil {
		stage := StageHandshake
		if strings.Contains(err.Error(), "unable to authenticate") {
			stage = StageAuth
		}
		return nil, &stageError{stage, err}
	}
	return c, nil
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
