package pipeline

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fanOut runs every index once, never more than parallel at once.
func TestFanOut(t *testing.T) {
	for _, parallel := range []int{0, 1, 3, 50} {
		var running, most atomic.Int32
		var mu sync.Mutex
		seen := map[int]int{}
		fanOut(10, parallel, func(i int) {
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
