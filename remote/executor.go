// Package remote runs commands on nodes: the SSH engine, a local executor and
// a scripted fake for unit tests. It knows nothing of Kubernetes.
package remote

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
)

// Executor is what every phase uses to act on one node. The SSH engine
// implements it for real hosts; Fake implements it for unit tests.
type Executor interface {
	// Name is the host's label in output and logs, e.g. "03/node2".
	Name() string
	// Run runs cmd.Line through the remote shell (as root: the engine adds sudo
	// when the login is not root) and returns its output. A non-zero exit is an
	// *ExitError that carries the output.
	Run(ctx context.Context, cmd Command) (Result, error)
	// Upload writes r to path atomically (temp file then rename) with mode,
	// and verifies the SHA-256 of what landed.
	Upload(ctx context.Context, r io.Reader, path string, mode os.FileMode) error
	// Tunnel opens a connection from the node to addr (e.g. "127.0.0.1:6443").
	Tunnel(ctx context.Context, network, addr string) (net.Conn, error)
	Close() error
}

// Command is one remote command line.
type Command struct {
	Line string
	// Stdin, when set, is copied to the command's standard input.
	Stdin io.Reader
	// Stdout and Stderr, when set, receive the output live as well.
	Stdout, Stderr io.Writer
	// Secrets are strings redacted from logs and from error messages.
	Secrets []string
	// AsLogin runs the command as the SSH login itself, without sudo.
	AsLogin bool
	// SecretOutput keeps stdout out of logs and errors (e.g. a kubeconfig
	// with its client key): only its size is logged.
	SecretOutput bool
	// MaxOutput bounds the stdout (and the stderr) kept in the Result (0:
	// DefaultMaxOutput). A node printing more is stopped and the command
	// fails, unless its output goes live to Stdout, where only what is kept
	// is cut: a node cannot make labctl's memory grow without bound.
	MaxOutput int
}

// Result is what a finished command printed.
type Result struct {
	Stdout   []byte
	Stderr   []byte
	ExitCode int
}

// ExitError is a command that ran and exited non-zero.
type ExitError struct {
	Host     string
	Line     string // redacted
	ExitCode int
	Output   string // redacted tail of stdout+stderr
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s: %q exited %d", e.Host, shortLine(e.Line), e.ExitCode)
	if e.Output != "" {
		msg += ": " + Escape(e.Output) // the node's words: never raw on a terminal
	}
	return msg
}

// shortLine is a command line as an error shows it: a script sent as one
// line shows its first line and how many more there are.
func shortLine(line string) string {
	first, rest, multi := strings.Cut(line, "\n")
	if !multi {
		return line
	}
	return fmt.Sprintf("%s ... (%d more lines)", first, strings.Count(strings.TrimRight(rest, "\n"), "\n")+1)
}
