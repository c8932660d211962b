package fan

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Do runs every index once, never more than parallel at once.
func TestDo(t *testing.T) {
	for _, parallel := range []int{0, 1, 3, 50} {
		var running, most atomic.Int32
		var mu sync.Mutex
		seen := map[int]int{}
		Do(10, parallel, func(i int) {
			n := running.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			running.Add(-1)
			mu.Lock()
			seen[i]++
			mu.Unlock()
		})
		if len(seen) != 10 {
			t.Errorf("parallel %d: ran %v", parallel, seen)
		}
		for i, n := range seen {
			if n != 1 {
				t.Errorf("parallel %d: %d ran %d times", parallel, i, n)
			}
		}
		if limit := int32(max(1, min(parallel, 10))); most.Load() > limit {
			t.Errorf("parallel %d: %d at once", parallel, most.Load())
		}
	}
}

// Each returns each item's error in order, and ctx.Err() for the items
// whose turn came after ctx ended.
func TestEach(t *testing.T) {
	boom := errors.New("boom")
	errs := Each(context.Background(), 4, 2, func(_ context.Context, i int) error {
		if i%2 == 1 {
			return fmt.Errorf("%d: %w", i, boom)
		}
		return nil
	})
	if len(errs) != 4 || errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], boom) || errs[3].Error() != "3: boom" {
		t.Fatalf("errors %v", errs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	release := make(chan struct{})
	var ran atomic.Int32
	done := make(chan []error)
	go func() {
		done <- Each(ctx, 3, 1, func(ctx context.Context, i int) error {
			if ran.Add(1) == 1 {
				close(started)
				<-release
			}
			return nil
		})
	}()
	<-started
	cancel()
	close(release)
	errs = <-done
	if ran.Load() != 1 {
		t.Errorf("%d ran after the cancel, want only the first", ran.Load())
	}
	canceled := 0
	for _, err := range errs {
		if errors.Is(err, context.Canceled) {
			canceled++
		}
	}
	if canceled != 2 {
		t.Errorf("errors %v: want two context.Canceled", errs)
	}
}
