package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"strings"
	"time"
)

// containerHost is the Executor for a node that is a container on this
// machine without sshd (a kind node): every command is `RUNTIME exec`.
type containerHost struct {
	h       Host
	env     []string
	secrets []string
	log     *hostLog
}

// ContainerHost is the executor of a container host without an engine
// (tests, and commands that only need one node).
func ContainerHost(h Host, env []string, logDir string) Executor {
	return &containerHost{h: h, env: env, log: newHostLog(logDir, h.Name)}
}

func (x *containerHost) Name() string { return x.h.Name }
func (x *containerHost) Close() error { return nil }

// command is `RUNTIME exec [-i] CONTAINER sh -c LINE` in labctl's environment.
func (x *containerHost) command(ctx context.Context, stdin bool, line string) *exec.Cmd {
	args := []string{"exec"}
	if stdin {
		args = append(args, "-i")
	}
	args = append(args, x.h.Container, "sh", "-c", line)
	c := exec.CommandContext(ctx, x.h.Runtime, args...)
	c.Env = append(os.Environ(), x.env...)
	c.WaitDelay = 5 * time.Second
	return c
}

func (x *containerHost) redact(cmd Command, s string) string {
	return Redact(s, x.secrets, cmd.Secrets)
}

func (x *containerHost) Run(ctx context.Context, cmd Command) (Result, error) {
	startTurn(ctx)
	start := time.Now()
	res, err := x.run(ctx, cmd)
	status := fmt.Sprintf("exit %d", res.ExitCode)
	if err != nil && res.ExitCode == 0 {
		status = "error: " + x.redact(cmd, err.Error())
	}
	stdout := string(res.Stdout)
	if cmd.SecretOutput {
		stdout = fmt.Sprintf("[%d bytes of secret output, not logged]\n", len(res.Stdout))
	}
	x.log.write(x.redact(cmd, cmd.Line), []byte(x.redact(cmd, stdout+string(res.Stderr))), status, time.Since(start))
	return res, err
}

func (x *containerHost) run(ctx context.Context, cmd Command) (Result, error) {
	if ctx.Err() != nil {
		return Result{}, fmt.Errorf("%s: %q: %w", x.h.Name, x.redact(cmd, cmd.Line), context.Cause(ctx))
	}
	c := x.command(ctx, cmd.Stdin != nil, cmd.Line)
	var stdout, stderr syncBuffer
	c.Stdout = tee(&stdout, cmd.Stdout)
	c.Stderr = tee(&stderr, cmd.Stderr)
	if cmd.Stdin != nil {
		c.Stdin = cmd.Stdin
	}
	stdout.max, stderr.max = cmd.MaxOutput, cmd.MaxOutput
	err := c.Run()
	res := Result{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	if overflowed(cmd, &stdout, &stderr) {
		res.ExitCode = -1
		return res, tooMuch(x.h.Name, x.redact(cmd, cmd.Line), &stdout, &stderr)
	}
	if err == nil {
		return res, nil
	}
	if ctx.Err() != nil {
		res.ExitCode = -1
		return res, fmt.Errorf("%s: %q: %w", x.h.Name, x.redact(cmd, cmd.Line), context.Cause(ctx))
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		res.ExitCode = ee.ExitCode()
		out := stdout.String() + stderr.String()
		if cmd.SecretOutput {
			out = stderr.String()
		}
		// The runtime itself says 125 (no such container, not running).
		return res, &ExitError{Host: x.h.Name, Line: x.redact(cmd, cmd.Line), ExitCode: res.ExitCode, Output: x.redact(cmd, tail(out, 600))}
	}
	res.ExitCode = -1
	return res, fmt.Errorf("%s: %s exec %s: %w", x.h.Name, x.h.Runtime, x.h.Container, err)
}

// Upload writes r to a temporary file next to p, checks its SHA-256 on
// the node, then renames it into place.
func (x *containerHost) Upload(ctx context.Context, r io.Reader, p string, mode os.FileMode) error {
	h := sha256.New()
	tmp := path.Join(path.Dir(p), "."+path.Base(p)+".labctl-upload")
	line := fmt.Sprintf("mkdir -p %s && cat > %s && chmod %o %s && sha256sum %s",
		shq(path.Dir(p)), shq(tmp), mode.Perm(), shq(tmp), shq(tmp))
	res, err := x.Run(ctx, Command{Line: line, Stdin: io.TeeReader(r, h)})
	if err != nil {
		return fmt.Errorf("%s: upload %s: %w", x.h.Name, p, err)
	}
	want := hex.EncodeToString(h.Sum(nil))
	got, _, _ := strings.Cut(string(bytes.TrimSpace(res.Stdout)), " ")
	if got != want {
		_, _ = x.Run(ctx, Command{Line: "rm -f " + shq(tmp)})
		return fmt.Errorf("%s: upload %s: sha256 %s on the node, %s sent", x.h.Name, p, got, want)
	}
	if _, err := x.Run(ctx, Command{Line: "mv -f " + shq(tmp) + " " + shq(p)}); err != nil {
		return fmt.Errorf("%s: upload %s: %w", x.h.Name, p, err)
	}
	return nil
}

// Tunnel reaches addr as the node would for the addresses that name the
// node itself (its container name, its address, loopback): they are
// dialled at the container's address, which this machine reaches on the
// container network. Other addresses are dialled from this machine, which
// shares that network.
func (x *containerHost) Tunnel(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%s: tunnel to %s: %w", x.h.Name, addr, err)
	}
	switch host {
	case x.h.Container, "localhost", "127.0.0.1", "::1":
		if x.h.Address == "" {
			return nil, fmt.Errorf("%s: tunnel to %s: the container's address is unknown", x.h.Name, addr)
		}
		addr = net.JoinHostPort(x.h.Address, port)
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("%s: tunnel to %s: %w", x.h.Name, addr, err)
	}
	return conn, nil
}

// Shell runs an interactive login shell in the container: `RUNTIME exec
// -it` when t has a terminal, else -i.
func (x *containerHost) Shell(ctx context.Context, t Terminal) error {
	args := []string{"exec", "-i"}
	if t.Term != "" {
		args = append(args, "-t", "-e", "TERM="+t.Term)
	}
	args = append(args, x.h.Container, "bash", "-l")
	c := exec.CommandContext(ctx, x.h.Runtime, args...)
	c.Env = append(os.Environ(), x.env...)
	c.Stdin, c.Stdout, c.Stderr = t.In, t.Out, t.Err
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() != 125 {
		return nil // the shell's own exit status is the user's business
	}
	if err != nil {
		return fmt.Errorf("%s: %s exec -i %s: %w", x.h.Name, x.h.Runtime, x.h.Container, err)
	}
	return nil
}

// shq quotes s for sh.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
