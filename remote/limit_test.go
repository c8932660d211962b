package remote

import (
	"context"
	"testing"
)

func TestLimiterAdapts(t *testing.T) {
	l := newLimiter(20)
	ctx := context.Background()
	if lim, _ := l.stats(); lim != handshakeStart {
		t.Fatalf("start at %d, got %d", handshakeStart, lim)
	}
	// Two handshakes that began together time out: one cut, not two.
	g1, _ := l.acquire(ctx)
	g2, _ := l.acquire(ctx)
	l.release(g1, false, true)
	l.release(g2, false, true)
	if lim, _ := l.stats(); lim != handshakeStart/2 {
		t.Fatalf("want one halving to %d, got %d", handshakeStart/2, lim)
	}
	// A later timeout cuts again, never below the floor.
	for i := 0; i < 5; i++ {
		g, _ := l.acquire(ctx)
		l.release(g, false, true)
	}
	if lim, _ := l.stats(); lim != handshakeFloor {
		t.Fatalf("want the floor %d, got %d", handshakeFloor, lim)
	}
	// limit successes raise it by one, up to the maximum.
	for i := 0; i < 1000; i++ {
		g, _ := l.acquire(ctx)
		l.release(g, true, false)
	}
	if lim, peak := l.stats(); lim != 20 || peak != 2 {
		t.Fatalf("want the maximum 20 and a peak of 2, got %d and %d", lim, peak)
	}
	// A full limiter makes the next one wait until ctx ends.
	var gens []int
	for i := 0; i < 20; i++ {
		g, _ := l.acquire(ctx)
		gens = append(gens, g)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.acquire(cctx); err == nil {
		t.Fatal("a 21st handshake went through a limit of 20")
	}
}
