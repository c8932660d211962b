package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Engine is the SSH engine: one client per host, reused by every command,
// kept alive, and redialled when it breaks.
type Engine struct {
	cfg Config

	mu      sync.Mutex
	clients map[string]*client // by host address
	learned map[string]string  // host keys pinned during this run
	jump    *ssh.Client
	closed  bool
	// sudoAlways: sudo even as root (tests).
	sudoAlways bool
	hs         *limiter // handshakes in flight
}

type client struct {
	ssh  *ssh.Client
	stop chan struct{}
	once sync.Once
}

func (c *client) close() {
	c.once.Do(func() {
		close(c.stop)
		c.ssh.Close()
	})
}

// NewEngine returns an engine; it dials nothing until a command needs it.
func NewEngine(cfg Config) *Engine {
	cfg.setDefaults()
	return &Engine{cfg: cfg, clients: map[string]*client{}, learned: map[string]string{}, hs: newLimiter(cfg.Handshakes)}
}

// Host returns the executor for one host.
func (e *Engine) Host(h Host) Executor {
	if h.Runtime != "" {
		return &containerHost{h: h, env: e.cfg.ContainerEnv, secrets: e.cfg.Secrets, log: newHostLog(e.cfg.LogDir, h.Name)}
	}
	return &sshHost{e: e, h: h, log: newHostLog(e.cfg.LogDir, h.Name)}
}

// Close closes every connection.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	for addr, c := range e.clients {
		c.close()
		delete(e.clients, addr)
	}
	if e.jump != nil {
		e.jump.Close()
		e.jump = nil
	}
	return nil
}

// client returns the live client for h, dialling if there is none.
func (e *Engine) client(ctx context.Context, h Host) (*client, error) {
	c, sess, err := e.open(ctx, h)
	if sess != nil {
		sess.Close()
	}
	return c, err
}

// open returns the live client for h, dialling if there is none; a fresh
// connection comes with its first session already open (see dialRetry).
func (e *Engine) open(ctx context.Context, h Host) (*client, *ssh.Session, error) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, nil, errors.New("ssh engine closed")
	}
	if c, ok := e.clients[h.Addr()]; ok {
		e.mu.Unlock()
		startTurn(ctx)
		return c, nil, nil
	}
	e.mu.Unlock()
	sc, sess, err := e.dialRetry(ctx, h)
	if err != nil {
		return nil, nil, err
	}
	c := &client{ssh: sc, stop: make(chan struct{})}
	e.mu.Lock()
	if old, ok := e.clients[h.Addr()]; ok { // another goroutine won the race
		e.mu.Unlock()
		sess.Close()
		c.close()
		return old, nil, nil
	}
	e.clients[h.Addr()] = c
	e.mu.Unlock()
	go e.keepAlive(h, c)
	return c, sess, nil
}

// drop forgets a broken client so the next command redials.
func (e *Engine) drop(h Host, c *client) {
	e.mu.Lock()
	if e.clients[h.Addr()] == c {
		delete(e.clients, h.Addr())
	}
	e.mu.Unlock()
	c.close()
}

// keepAlive pings the server; a client that stops answering is dropped, so
// a half-dead TCP connection never hangs the next command.
func (e *Engine) keepAlive(h Host, c *client) {
	t := time.NewTicker(e.cfg.KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		select {
		case err := <-reply:
			if err != nil {
				e.drop(h, c)
				return
			}
		case <-time.After(2 * e.cfg.KeepAlive):
			e.drop(h, c)
			return
		case <-c.stop:
			return
		}
	}
}

func (e *Engine) bastion(ctx context.Context) (*ssh.Client, error) {
	e.mu.Lock()
	if e.jump != nil {
		j := e.jump
		e.mu.Unlock()
		return j, nil
	}
	e.mu.Unlock()
	b := *e.cfg.Bastion
	if b.Name == "" {
		b.Name = "bastion"
	}
	cfg, err := e.clientConfig(b, e.cfg.BastionUser, "")
	if err != nil {
		return nil, err
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", b.Addr())
	if err != nil {
		return nil, fmt.Errorf("bastion %s: %w", b.Addr(), err)
	}
	j, err := handshake(ctx, conn, b.Addr(), cfg)
	if err != nil {
		return nil, fmt.Errorf("bastion %s: %w", b.Addr(), err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.jump != nil {
		j.Close()
		return e.jump, nil
	}
	e.jump = j
	return j, nil
}

func (e *Engine) dropBastion(j *ssh.Client) {
	e.mu.Lock()
	if e.jump == j {
		e.jump = nil
	}
	e.mu.Unlock()
	j.Close()
}

// sshHost is the Executor for one host.
type sshHost struct {
	e   *Engine
	h   Host
	log *hostLog
}

func (x *sshHost) Name() string { return x.h.Name }

func (x *sshHost) Close() error {
	x.e.mu.Lock()
	c, ok := x.e.clients[x.h.Addr()]
	x.e.mu.Unlock()
	if ok {
		x.e.drop(x.h, c)
	}
	return nil
}

// wrap ties the command to its session (see dieWithSession) and adds sudo
// when the login is not root; the watchdog runs under sudo too, so that
// it may stop what sudo started.
func (x *sshHost) wrap(cmd Command) string {
	line := dieWithSession(cmd.Line, runMark())
	if cmd.AsLogin || (x.e.cfg.User == "root" && !x.e.sudoAlways) {
		return line
	}
	return "sudo -n -H -- sh -c " + ShellQuote(line)
}

func (x *sshHost) Run(ctx context.Context, cmd Command) (Result, error) {
	start := time.Now()
	logLine := Redact(cmd.Line, x.e.cfg.Secrets, cmd.Secrets)
	res, err := x.run(ctx, cmd)
	status := fmt.Sprintf("exit %d", res.ExitCode)
	if err != nil && res.ExitCode == 0 {
		status = "error: " + Redact(err.Error(), x.e.cfg.Secrets, cmd.Secrets)
	}
	stdout := string(res.Stdout)
	if cmd.SecretOutput {
		stdout = fmt.Sprintf("[%d bytes of secret output, not logged]\n", len(res.Stdout))
	}
	x.log.write(logLine, []byte(Redact(stdout+string(res.Stderr), x.e.cfg.Secrets, cmd.Secrets)), status, time.Since(start))
	return res, err
}

func (x *sshHost) run(ctx context.Context, cmd Command) (Result, error) {
	if ctx.Err() != nil { // stopped: start nothing more on the host
		return Result{}, fmt.Errorf("%s: %q: %w", x.h.Name, x.redact(cmd, cmd.Line), context.Cause(ctx))
	}
	c, sess, err := x.e.session(ctx, x.h)
	if err != nil {
		return Result{}, err
	}
	defer sess.Close()
	var stdout, stderr syncBuffer
	sess.Stdout = tee(&stdout, cmd.Stdout)
	sess.Stderr = tee(&stderr, cmd.Stderr)
	if cmd.Stdin != nil {
		sess.Stdin = cmd.Stdin
	}
	stdout.max, stderr.max = cmd.MaxOutput, cmd.MaxOutput
	if err := sess.Start(x.wrap(cmd)); err != nil {
		err = x.e.lost(x.h, c, err)
		x.e.drop(x.h, c)
		return Result{}, fmt.Errorf("%s: start %q: %w", x.h.Name, x.redact(cmd, cmd.Line), err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	var waitErr error
	select {
	case waitErr = <-done:
	case <-ctx.Done():
		x.stop(sess, c, done)
		// The session may still be copying output if its wait was abandoned.
		res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: -1}
		return res, fmt.Errorf("%s: %q: %w", x.h.Name, x.redact(cmd, cmd.Line), context.Cause(ctx))
	case <-stdout.stopOn(cmd.Stdout):
		x.stop(sess, c, done)
		res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: -1}
		return res, tooMuch(x.h.Name, x.redact(cmd, cmd.Line), &stdout, &stderr)
	case <-stderr.stopOn(cmd.Stderr):
		x.stop(sess, c, done)
		res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitCode: -1}
		return res, tooMuch(x.h.Name, x.redact(cmd, cmd.Line), &stdout, &stderr)
	}
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if overflowed(cmd, &stdout, &stderr) {
		res.ExitCode = -1
		return res, tooMuch(x.h.Name, x.redact(cmd, cmd.Line), &stdout, &stderr)
	}
	var exitErr *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case waitErr == nil:
		return res, nil
	case errors.As(waitErr, &exitErr):
		res.ExitCode = exitErr.ExitStatus()
		return res, &ExitError{Host: x.h.Name, Line: x.redact(cmd, cmd.Line), ExitCode: res.ExitCode, Output: x.redact(cmd, tail(stdout.String()+stderr.String(), 600))}
	case errors.As(waitErr, &missing), errors.Is(waitErr, io.EOF):
		x.e.drop(x.h, c)
		res.ExitCode = -1
		return res, fmt.Errorf("%s: %q: %w", x.h.Name, x.redact(cmd, cmd.Line), ErrConnectionLost)
	default:
		// No exit status: whether the command ran is unknown.
		x.e.drop(x.h, c)
		res.ExitCode = -1
		return res, fmt.Errorf("%s: %q: %w: %w", x.h.Name, x.redact(cmd, cmd.Line), ErrConnectionLost, waitErr)
	}
}

func (x *sshHost) redact(cmd Command, s string) string {
	return Redact(s, x.e.cfg.Secrets, cmd.Secrets)
}

func (x *sshHost) Tunnel(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := x.e.client(ctx, x.h)
	if err != nil {
		return nil, err
	}
	conn, err := c.ssh.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("%s: tunnel to %s: %w", x.h.Name, addr, err)
	}
	return conn, nil
}

func tee(buf io.Writer, w io.Writer) io.Writer {
	if w == nil {
		return buf
	}
	return io.MultiWriter(buf, w)
}

// syncBuffer is a buffer that a session may still write to while Run
// returns. It keeps at most max bytes (0: DefaultMaxOutput) and drops
// the rest: a node printing without end cannot exhaust labctl's memory.
type syncBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	max  int
	over bool
	full chan struct{} // closed when over
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	limit := s.max
	if limit <= 0 {
		limit = DefaultMaxOutput
	}
	if room := limit - s.b.Len(); len(p) > room {
		s.b.Write(p[:max(room, 0)])
		if !s.over {
			s.over = true
			s.fullLocked()
			close(s.full)
		}
		return len(p), nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) fullLocked() chan struct{} {
	if s.full == nil {
		s.full = make(chan struct{})
	}
	return s.full
}

// filled is closed once more was written than the buffer keeps.
func (s *syncBuffer) filled() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fullLocked()
}

// cut says whether output was dropped.
func (s *syncBuffer) cut() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.over
}

// Bytes is a copy of what was written so far.
func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

func (s *syncBuffer) String() string { return string(s.Bytes()) }

// tail keeps the last n bytes of s, on a line boundary when it can.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return "..." + s
}

// ShellQuote quotes s for a POSIX shell.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
