package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/labctl/labctl/coins/internal/cointest"
)

var bins string

func TestMain(m *testing.M) { os.Exit(cointest.Main(m, &bins, "rng", "hasher", "worker")) }

// stack starts redis, rng, hasher and one worker (with extra env).
func stack(t *testing.T, env ...string) (*cointest.Redis, *cointest.Proc) {
	t.Helper()
	r := cointest.StartRedis(t)
	_, rng := cointest.Service(t, bins, "rng")
	_, hasher := cointest.Service(t, bins, "hasher")
	env = append([]string{"DOCKERCOINS_REDIS=" + r.Addr, "DOCKERCOINS_RNG=" + rng, "DOCKERCOINS_HASHER=" + hasher}, env...)
	w := cointest.Start(t, "worker", []string{bins + "/worker"}, env...)
	return r, w
}

// hashes reads the counter; 0 when absent or unreachable.
func hashes(t *testing.T, addr string) int64 {
	n, _ := cointest.Client(t, addr).Get(context.Background(), "hashes").Int64()
	return n
}

// waitFor polls cond every 100 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return cond()
}

func TestMinesIntoRedis(t *testing.T) {
	t.Parallel()
	r, w := stack(t)
	rc := cointest.Client(t, r.Addr)
	ctx := context.Background()
	// A hash starts with "0" once in 16: give it time to find one.
	if !waitFor(60*time.Second, func() bool { return rc.HLen(ctx, "wallet").Val() > 0 }) {
		t.Fatalf("no coin in the wallet after 60 s (hashes = %d)", hashes(t, r.Addr))
	}
	// The counter is updated about once a second, so it may lag the wallet.
	if !waitFor(5*time.Second, func() bool { return hashes(t, r.Addr) >= 3 }) {
		t.Errorf("hashes = %d 5 s after finding a coin, want several", hashes(t, r.Addr))
	}
	wallet := rc.HGetAll(ctx, "wallet").Val()
	for hexHash, data := range wallet {
		sum := sha256.Sum256([]byte(data))
		if hexHash != hex.EncodeToString(sum[:]) || !strings.HasPrefix(hexHash, "0") || len(data) != 32 {
			t.Errorf("wallet field %s holds %d bytes that do not hash to it", hexHash, len(data))
		}
		if !strings.Contains(w.Output(), "Coin found: "+hexHash[:8]+"...") {
			t.Errorf("no \"Coin found: %s...\" in the worker's log", hexHash[:8])
		}
	}
	if !strings.Contains(w.Output(), "units of work done, updating hash counter") {
		t.Errorf("no counter update in the worker's log:\n%s", w.Output())
	}
}

// TestRecoversFromRedisRestart: the worker logs the error, waits 10 s and
// mines again, without restarting.
func TestRecoversFromRedisRestart(t *testing.T) {
	t.Parallel()
	r, w := stack(t)
	if !waitFor(10*time.Second, func() bool { return hashes(t, r.Addr) > 0 }) {
		t.Fatal("worker did not count within 10 s")
	}
	r.Stop()
	if !waitFor(10*time.Second, func() bool { return strings.Contains(w.Output(), "Waiting 10s and restarting") }) {
		t.Fatalf("worker did not report the Redis outage:\n%s", w.Output())
	}
	r.Start() // an empty Redis: no persistence
	restarted := time.Now()
	if !waitFor(20*time.Second, func() bool { return hashes(t, r.Addr) > 0 }) {
		t.Fatalf("worker did not count again within 20 s of Redis coming back")
	}
	took := time.Since(restarted)
	t.Logf("counting again %s after Redis came back", took.Round(100*time.Millisecond))
	if w.Wait(0) {
		t.Fatal("worker exited")
	}
}

// TestIgnoresSIGTERM: old pods keep mining through the grace period.
func TestIgnoresSIGTERM(t *testing.T) {
	t.Parallel()
	r, w := stack(t)
	if !waitFor(10*time.Second, func() bool { return hashes(t, r.Addr) > 0 }) {
		t.Fatal("worker did not count within 10 s")
	}
	if err := w.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	before := hashes(t, r.Addr)
	if w.Wait(3 * time.Second) {
		t.Fatal("worker exited on SIGTERM")
	}
	if after := hashes(t, r.Addr); after <= before {
		t.Errorf("hashes %d -> %d in the 3 s after SIGTERM: worker stopped mining", before, after)
	}
	if !strings.Contains(w.Output(), "Received SIGTERM; ignoring it") {
		t.Errorf("SIGTERM not logged:\n%s", w.Output())
	}
}

// countingServer stands in for rng or hasher and counts requests and TCP
// connections separately.
type countingServer struct {
	*httptest.Server
	conns, requests atomic.Int64
}

func newCountingServer(t *testing.T, answer func(body []byte) string) *countingServer {
	s := &countingServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, answer(body))
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// TestConnectionPerRequestRoundRobin: every request opens its own
// connection, and rng URLs in DOCKERCOINS_RNG are used in turn.
func TestConnectionPerRequestRoundRobin(t *testing.T) {
	t.Parallel()
	r := cointest.StartRedis(t)
	random := func([]byte) string { return strings.Repeat("r", 32) }
	rngA, rngB := newCountingServer(t, random), newCountingServer(t, random)
	hasher := newCountingServer(t, func(b []byte) string {
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:])
	})
	cointest.Start(t, "worker", []string{bins + "/worker"}, "DOCKERCOINS_REDIS="+r.Addr,
		"DOCKERCOINS_RNG="+rngA.URL+", "+rngB.URL+"/", "DOCKERCOINS_HASHER="+hasher.URL)
	if !waitFor(15*time.Second, func() bool { return hasher.requests.Load() >= 10 }) {
		t.Fatalf("only %d hash requests in 15 s", hasher.requests.Load())
	}
	a, b := rngA.requests.Load(), rngB.requests.Load()
	if a < 4 || b < 4 || a-b > 1 || b-a > 1 {
		t.Errorf("rng requests A=%d B=%d, want round-robin", a, b)
	}
	for name, s := range map[string]*countingServer{"rng A": rngA, "rng B": rngB, "hasher": hasher} {
		// Read connections first: a request's connection is counted before it.
		conns, reqs := s.conns.Load(), s.requests.Load()
		if conns < reqs {
			t.Errorf("%s: %d requests over %d connections, want one connection per request", name, reqs, conns)
		}
	}
}

// TestV02Sleep: v0.2 is a build setting of the same source.
func TestV02Sleep(t *testing.T) {
	t.Parallel()
	dir := cointest.Build(t, "-X main.firstSleep=1s", "worker")
	w := cointest.Start(t, "worker v0.2", []string{dir + "/worker"}, "DOCKERCOINS_REDIS=127.0.0.1:1",
		"DOCKERCOINS_RNG=http://127.0.0.1:1")
	if !waitFor(5*time.Second, func() bool { return strings.Contains(w.Output(), "first sleep 1s,") }) {
		t.Errorf("worker v0.2 does not report a 1 s first sleep:\n%s", w.Output())
	}
}
