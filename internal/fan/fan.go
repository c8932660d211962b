// Package fan runs one function over many items at once, a bounded number
// at a time: the one fan-out the pipeline's phases, the SSH engine and the
// providers share. It imports nothing of labctl.
package fan

import (
	"context"
	"sync"
)

// Do runs fn(i) for every i in [0, n), at most parallel at once (at least
// one), and returns when all have.
func Do(n, parallel int, fn func(i int)) {
	sem := make(chan struct{}, max(1, parallel))
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}

// Each is Do with a context and an error per item, in the items' order:
// an item whose turn comes after ctx ended is not run, its error is
// ctx.Err(). One item's failure never stops the others.
func Each(ctx context.Context, n, parallel int, fn func(ctx context.Context, i int) error) []error {
	errs := make([]error, n)
	sem := make(chan struct{}, max(1, parallel))
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			if err := ctx.Err(); err != nil {
				errs[i] = err // ended while this item waited its turn
				return
			}
			errs[i] = fn(ctx, i)
		})
	}
	wg.Wait()
	return errs
}
