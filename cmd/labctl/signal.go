package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// stopLimit bounds the clean-up after a first signal. Every wait in labctl
// is bounded and stops with its context, well within this; it is the
// last resort, not the plan.
const stopLimit = 20 * time.Second

// interrupted is the cause of a run stopped by a signal. It is a
// cancellation: errors.Is(err, context.Canceled) holds.
type interrupted struct{ sig syscall.Signal }

func (e interrupted) Error() string        { return "interrupted by " + sigName(e.sig) }
func (e interrupted) Is(target error) bool { return target == context.Canceled }
func (e interrupted) exitCode() int        { return 128 + int(e.sig) }

func sigName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// handleSignals turns the first SIGINT or SIGTERM into a cancellation:
// commands on the hosts are stopped, phases record where they were and
// save the state, and main exits. A second signal, or a clean-up that
// outlives stopLimit, exits at once: the state file is written atomically
// and the lab's lock is released by the kernel, so nothing is left
// half-written.
func handleSignals(cancel context.CancelCauseFunc, errOut io.Writer) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	first := (<-sigs).(syscall.Signal)
	fmt.Fprintf(errOut, "\nlabctl: %s: stopping the commands on the hosts and saving the state; send it again to quit at once\n", sigName(first))
	cancel(interrupted{first})
	t := time.NewTimer(stopLimit)
	select {
	case s := <-sigs:
		sig := s.(syscall.Signal)
		fmt.Fprintf(errOut, "labctl: %s again: quitting now\n", sigName(sig))
		os.Exit(interrupted{sig}.exitCode())
	case <-t.C:
		fmt.Fprintf(errOut, "labctl: still stopping %s after the %s: quitting now\n", stopLimit, sigName(first))
		os.Exit(interrupted{first}.exitCode())
	}
}
