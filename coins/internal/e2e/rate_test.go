// Package e2e measures DockerCoins' mining rates with real processes on
// loopback: the numbers the course quotes.
package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/coins/internal/cointest"
)

// window is how long each rate is measured.
const window = 12 * time.Second

var bins, binsV02 string

func TestMain(m *testing.M) {
	if os.Getenv("LABCTL_E2E") != "1" {
		os.Exit(m.Run()) // the tests skip themselves
	}
	dir, err := os.MkdirTemp("", "dockercoins-v02-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := cointest.BuildInto(dir, "-X main.firstSleep=1s", "worker"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binsV02 = dir
	code := cointest.Main(m, &bins, "rng", "hasher", "worker")
	os.RemoveAll(dir)
	os.Exit(code)
}

// setup is one measured configuration.
type setup struct {
	workers, rngs int
	v02           bool
}

// measure runs the stack and returns hashes per second, computed between
// the first and the last change of the counter seen in the window (the
// counter moves in steps, about once per second per worker).
func measure(t *testing.T, s setup) float64 {
	t.Helper()
	r := cointest.StartRedis(t)
	var rngs []string
	for range s.rngs {
		_, base := cointest.Service(t, bins, "rng")
		rngs = append(rngs, base)
	}
	_, hasher := cointest.Service(t, bins, "hasher")
	worker := bins + "/worker"
	if s.v02 {
		worker = binsV02 + "/worker"
	}
	for i := range s.workers {
		cointest.Start(t, fmt.Sprintf("worker%d", i+1), []string{worker}, "DOCKERCOINS_REDIS="+r.Addr,
			"DOCKERCOINS_RNG="+strings.Join(rngs, ","), "DOCKERCOINS_HASHER="+hasher)
	}
	rc := cointest.Client(t, r.Addr)
	ctx := context.Background()
	read := func() int64 {
		n, _ := rc.Get(ctx, "hashes").Int64()
		return n
	}
	time.Sleep(3 * time.Second) // warm up: every worker has flushed once
	var first, last int64
	var tFirst, tLast time.Time
	prev := read()
	end := time.Now().Add(window)
	for time.Now().Before(end) {
		time.Sleep(20 * time.Millisecond)
		n := read()
		if n == prev {
			continue
		}
		now := time.Now()
		if tFirst.IsZero() {
			first, tFirst = n, now
		}
		last, tLast, prev = n, now, n
	}
	if tLast.Sub(tFirst) < window/2 {
		t.Fatalf("the counter barely moved in %s (%d -> %d)", window, first, last)
	}
	return float64(last-first) / tLast.Sub(tFirst).Seconds()
}

func needE2E(t *testing.T) {
	if os.Getenv("LABCTL_E2E") != "1" {
		t.Skip("slow rate measurements (about 90 s): run with LABCTL_E2E=1 go test ./coins/internal/e2e")
	}
}

func TestRates(t *testing.T) {
	needE2E(t)
	// Sequential: the rates are what is tested, and this machine is small.
	one := measure(t, setup{workers: 1, rngs: 1})
	t.Logf("1 worker: %.2f hashes/s (course: 3.33)", one)
	if one < 3.0 || one > 3.6 {
		t.Errorf("1 worker: %.2f hashes/s, want 3.0-3.6", one)
	}
	two := measure(t, setup{workers: 2, rngs: 1})
	t.Logf("2 workers: %.2f hashes/s, x%.2f (course: x2)", two, two/one)
	if two/one < 1.8 || two/one > 2.2 {
		t.Errorf("2 workers: %.2f hashes/s = x%.2f of one worker, want about x2", two, two/one)
	}
	ten := measure(t, setup{workers: 10, rngs: 1})
	t.Logf("10 workers, 1 rng: %.2f hashes/s (course: ~10, never more)", ten)
	if ten < 8.5 || ten > 10.5 {
		t.Errorf("10 workers, 1 rng: %.2f hashes/s, want 8.5-10.5", ten)
	}
	scaled := measure(t, setup{workers: 10, rngs: 3})
	t.Logf("10 workers, 3 rngs: %.2f hashes/s (course: above 10)", scaled)
	if scaled <= 15 {
		t.Errorf("10 workers, 3 rngs: %.2f hashes/s, want > 15", scaled)
	}
	slow := measure(t, setup{workers: 1, rngs: 1, v02: true})
	t.Logf("1 worker v0.2: %.2f hashes/s (course: ~0.83)", slow)
	if slow < 0.75 || slow > 0.9 {
		t.Errorf("1 worker v0.2: %.2f hashes/s, want 0.75-0.9", slow)
	}
}
