package pipeline

import "sync"

// fanOut runs fn(i) for every i in [0, n), at most parallel at once (at
// least one), and returns when all have: the one way the pipeline's
// commands work on many clusters at once (reset, hard reset, stop and
// start), bounded by ssh.parallel or the command's own bound.
func fanOut(n, parallel int, fn func(i int)) {
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
