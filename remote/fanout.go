package remote

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/labctl/labctl/internal/fan"
)

// DefaultParallel is how many hosts Each drives at once unless told.
const DefaultParallel = 50

// HostResult is what one host's part of a fan-out did.
type HostResult struct {
	Host     string
	Err      error
	Duration time.Duration
}

// Results are the per-host outcomes of Each, in the order of the hosts given.
type Results []HostResult

// Err aggregates the failures (nil when every host succeeded). The result
// keeps each host's error so errors.Is/As reach through it.
func (r Results) Err() error {
	var merr *multierror.Error
	for _, h := range r {
		if h.Err != nil {
			merr = multierror.Append(merr, h.Err)
		}
	}
	if merr != nil {
		merr.ErrorFormat = ListErrors
	}
	return merr.ErrorOrNil()
}

// ListErrors formats several errors as one per line, without blank lines.
func ListErrors(errs []error) string {
	if len(errs) == 1 {
		return errs[0].Error()
	}
	lines := make([]string, len(errs))
	for i, err := range errs {
		lines[i] = "  - " + err.Error()
	}
	return fmt.Sprintf("%d errors:\n%s", len(errs), strings.Join(lines, "\n"))
}

// Failed counts the hosts that failed.
func (r Results) Failed() int {
	n := 0
	for _, h := range r {
		if h.Err != nil {
			n++
		}
	}
	return n
}

// Each runs fn on every executor, at most parallel at once, and returns a
// result per host. One host's failure never stops the others.
func Each(ctx context.Context, xs []Executor, parallel int, fn func(context.Context, Executor) error) Results {
	if parallel < 1 {
		parallel = DefaultParallel
	}
	results := make(Results, len(xs))
	errs := fan.Each(ctx, len(xs), parallel, func(ctx context.Context, i int) error {
		start := time.Now()
		defer func() { results[i].Duration = time.Since(start) }()
		return fn(ctx, xs[i])
	})
	for i, x := range xs {
		results[i].Host, results[i].Err = x.Name(), errs[i]
	}
	return results
}
