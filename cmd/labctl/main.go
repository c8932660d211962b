// Command labctl gets a Kubernetes class ready: it provisions one cluster per
// attendee, prepares the nodes over SSH, and prints access cards.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/pipeline"
	"github.com/labctl/labctl/remote"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	go handleSignals(cancel, os.Stderr)
	root := newRootCmd()
	err := root.ExecuteContext(ctx)
	var in interrupted
	if errors.As(context.Cause(ctx), &in) {
		if err != nil && err != context.Canceled { // a bare cancellation says no more than the line below
			fmt.Fprintln(os.Stderr, "labctl:", remote.Escape(err.Error()))
		}
		fmt.Fprintf(os.Stderr, "labctl: %s: stopped\n", in)
		os.Exit(in.exitCode())
	}
	if err == nil {
		return
	}
	// Errors may carry what a node printed: escaped, never raw.
	fmt.Fprintln(os.Stderr, "labctl:", remote.Escape(err.Error()))
	os.Exit(exitCode(err))
}

// Exit codes: 1 something failed on hosts, 2 bad input, 3 lab busy,
// 4 not available yet; 130 and 143 interrupted by SIGINT and SIGTERM.
const (
	exitFailed      = 1
	exitBadInput    = 2
	exitBusy        = 3
	exitUnavailable = 4
)

// usageError is bad input: a flag, an argument or the lab file. A state
// directory or state file labctl will not use (lab.ErrStateDir,
// lab.ErrBadState) is bad input too.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func badInput(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// errUnavailable marks a command or phase that does not exist yet.
var errUnavailable = pipeline.ErrUnavailable

func exitCode(err error) int {
	var ue usageError
	switch {
	case errors.As(err, &ue), errors.Is(err, pipeline.ErrBadInput),
		errors.Is(err, lab.ErrStateDir), errors.Is(err, lab.ErrBadState):
		return exitBadInput
	case errors.Is(err, lab.ErrBusy):
		return exitBusy
	case errors.Is(err, errUnavailable):
		return exitUnavailable
	}
	return exitFailed
}
