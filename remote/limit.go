package remote

import (
	"context"
	"sync"
	"time"
)

// Handshakes in flight at once: the limit adapts between handshakeFloor
// and Config.Handshakes, starting at handshakeStart. It is bounded apart
// from the fan-out (ssh.parallel): a command holds its host's slot in the
// fan-out for as long as it runs, a handshake holds a handshake slot only
// while it connects. Each handshake costs the machine that opens it (and
// every router on the way) far more than a command on an open
// connection, so 400 hosts never open 400 handshakes at once.
const (
	handshakeStart = 16
	handshakeFloor = 4
	// DefaultHandshakes is the most handshakes in flight at once.
	DefaultHandshakes = 64
)

// limiter bounds the handshakes in flight and adapts the bound as TCP
// does its window: a handshake that timed out halves it (once per round:
// only handshakes that began after the last cut may cut it again), and
// every limit handshakes that succeeded raise it by one.
type limiter struct {
	mu       sync.Mutex
	inFlight int
	limit    int
	floor    int
	max      int
	ok       int
	gen      int
	peak     int
	wake     chan struct{}
}

func newLimiter(max int) *limiter {
	if max < 1 {
		max = DefaultHandshakes
	}
	return &limiter{limit: min(handshakeStart, max), floor: min(handshakeFloor, max), max: max, wake: make(chan struct{})}
}

// acquire waits for a slot; the generation it returns goes back to release.
func (l *limiter) acquire(ctx context.Context) (int, error) {
	for {
		l.mu.Lock()
		if l.inFlight < l.limit {
			l.inFlight++
			l.peak = max(l.peak, l.inFlight)
			gen := l.gen
			l.mu.Unlock()
			return gen, nil
		}
		wake := l.wake
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return 0, context.Cause(ctx)
		case <-wake:
		}
	}
}

// release frees a slot and adapts the limit: timedOut when the handshake
// ran out of time (a sign of load), ok when it succeeded.
func (l *limiter) release(gen int, ok, timedOut bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight--
	switch {
	case timedOut && gen == l.gen:
		l.limit = max(l.floor, l.limit/2)
		l.ok = 0
		l.gen++
	case ok:
		l.ok++
		if l.ok >= l.limit {
			l.limit = min(l.max, l.limit+1)
			l.ok = 0
		}
	}
	close(l.wake)
	l.wake = make(chan struct{})
}

// stats are the current limit and the most handshakes seen in flight.
func (l *limiter) stats() (limit, peak int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit, l.peak
}

// Budget is how long one host may take to connect (TCP, handshake, login
// and opening its first session, retried with backoff) before it is
// reported unreachable: Config.Budget when set, else BudgetFor(RetryWindow,
// Config.Hosts).
func (e *Engine) Budget() time.Duration {
	if e.cfg.Budget > 0 {
		return e.cfg.Budget
	}
	return BudgetFor(e.cfg.RetryWindow, e.cfg.Hosts)
}

// perHost is what each host of the fan-out adds to the budget. A host
// whose attempt failed queues again for a handshake slot behind the
// others: on a busy machine (load average 20 on 2 cores) a handshake
// takes up to about 2.5 s, and the limit starts at 16 slots, so a round
// through n hosts takes n/16 × 2.5 s ≈ n × 150 ms; the budget leaves every
// host a full retry window after such a round.
const perHost = 150 * time.Millisecond

// BudgetFor is the connection budget of a host among hosts driven by one
// run: base (the retry window of a lone host) plus perHost for each host,
// at most 10 minutes. 4 hosts: base + 0.6 s; 400 hosts: base + 60 s.
func BudgetFor(base time.Duration, hosts int) time.Duration {
	return min(base+time.Duration(hosts)*perHost, 10*time.Minute)
}

// HandshakeStats are the engine's current handshake limit and the most
// handshakes it had in flight at once.
func (e *Engine) HandshakeStats() (limit, peak int) { return e.hs.stats() }
