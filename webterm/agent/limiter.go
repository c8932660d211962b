package agent

import (
	"strconv"
	"sync"
	"time"
)

// Limiter slows down login failures per client address: after Free
// failures, each further one doubles the wait before the next attempt is
// even tried, from Base up to Max. A success clears the address.
type Limiter struct {
	free      int
	base, max time.Duration
	now       func() time.Time

	mu    sync.Mutex
	addrs map[string]*failures
}

type failures struct {
	n     int
	until time.Time
}

// NewLimiter returns a limiter allowing free failures before slowing down.
func NewLimiter(free int, base, max time.Duration) *Limiter {
	return &Limiter{free: free, base: base, max: max, now: time.Now, addrs: map[string]*failures{}}
}

// Wait is how long addr must wait before its next attempt; 0: go ahead.
func (l *Limiter) Wait(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.addrs[addr]
	if f == nil {
		return 0
	}
	if d := f.until.Sub(l.now()); d > 0 {
		return d
	}
	return 0
}

// Fail records a failed attempt from addr.
func (l *Limiter) Fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.addrs) > 100000 { // a flood of addresses must not grow memory without bound
		l.addrs = map[string]*failures{}
	}
	f := l.addrs[addr]
	if f == nil {
		f = &failures{}
		l.addrs[addr] = f
	}
	f.n++
	if f.n <= l.free {
		return
	}
	d := l.base << min(f.n-l.free-1, 20)
	if d > l.max || d <= 0 {
		d = l.max
	}
	f.until = l.now().Add(d)
}

// Succeed forgets addr's failures.
func (l *Limiter) Succeed(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.addrs, addr)
}

func seconds(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}
