package remote

import (
	"context"
	"fmt"
	"io"

	"golang.org/x/crypto/ssh"
)

// Terminal is the local side of an interactive session.
type Terminal struct {
	In            io.Reader
	Out, Err      io.Writer
	Term          string // $TERM; empty means no pseudo-terminal
	Width, Height int
	// Resize delivers window size changes (may be nil).
	Resize <-chan [2]int
}

// Shell opens an interactive login shell on h through the engine (same
// login, same pinned host key) and returns when it ends.
func (e *Engine) Shell(ctx context.Context, h Host, t Terminal) error {
	if h.Runtime != "" {
		return (&containerHost{h: h, env: e.cfg.ContainerEnv}).Shell(ctx, t)
	}
	c, err := e.client(ctx, h)
	if err != nil {
		return err
	}
	sess, err := c.ssh.NewSession()
	if err != nil {
		e.drop(h, c)
		return fmt.Errorf("%s: new session: %w", h.Name, err)
	}
	defer sess.Close()
	sess.Stdin, sess.Stdout, sess.Stderr = t.In, t.Out, t.Err
	if t.Term != "" {
		modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
		if err := sess.RequestPty(t.Term, t.Height, t.Width, modes); err != nil {
			return fmt.Errorf("%s: pty: %w", h.Name, err)
		}
	}
	if t.Resize != nil {
		go func() {
			for sz := range t.Resize {
				_ = sess.WindowChange(sz[1], sz[0])
			}
		}()
	}
	if err := sess.Shell(); err != nil {
		return fmt.Errorf("%s: shell: %w", h.Name, err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err := <-done:
		if _, ok := err.(*ssh.ExitError); ok {
			return nil // the shell's own exit status is the user's business
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
