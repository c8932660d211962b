// Package pipeline runs the phases of a lab in order: each phase has a title
// and a Run; optional interfaces let it skip itself or print a plan.
package pipeline

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Phase is one step of the pipeline (provision, nodeprep, kubeadm, ...).
type Phase interface {
	Title() string
	Run(ctx context.Context) error
}

// Skipper is a phase that can tell it has nothing to do.
type Skipper interface {
	ShouldRun(ctx context.Context) (bool, error)
}

// DryRunner is a phase that can print what it would do without doing it.
type DryRunner interface {
	DryRun(ctx context.Context, w io.Writer) error
}

// Manager runs phases in order and stops at the first failure.
type Manager struct {
	Out    io.Writer
	DryRun bool
}

// Run runs every phase, printing "==> Title" before each.
func (m *Manager) Run(ctx context.Context, phases ...Phase) error {
	for _, p := range phases {
		if err := ctx.Err(); err != nil {
			return err
		}
		if s, ok := p.(Skipper); ok {
			run, err := s.ShouldRun(ctx)
			if err != nil {
				return fmt.Errorf("%s: %w", p.Title(), err)
			}
			if !run {
				fmt.Fprintf(m.Out, "==> %s (nothing to do)\n", p.Title())
				continue
			}
		}
		fmt.Fprintf(m.Out, "==> %s\n", p.Title())
		if m.DryRun {
			if d, ok := p.(DryRunner); ok {
				if err := d.DryRun(ctx, m.Out); err != nil {
					return fmt.Errorf("%s: %w", p.Title(), err)
				}
			} else {
				fmt.Fprintf(m.Out, "    (no plan available for this phase; it would run)\n")
			}
			continue
		}
		start := time.Now()
		if err := p.Run(ctx); err != nil {
			return fmt.Errorf("%s: %w", p.Title(), err)
		}
		fmt.Fprintf(m.Out, "    done in %s\n", time.Since(start).Round(time.Millisecond))
	}
	return nil
}
