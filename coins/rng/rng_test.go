package main

import (
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labctl/labctl/coins/internal/cointest"
)

var bins string

func TestMain(m *testing.M) { os.Exit(cointest.Main(m, &bins, "rng")) }

func TestRandomBytes(t *testing.T) {
	t.Parallel()
	proc, base := cointest.Service(t, bins, "rng")
	var seen []string
	for range 2 {
		resp, body := cointest.Get(t, base+"/32")
		if resp.StatusCode != 200 || len(body) != 32 {
			t.Fatalf("GET /32: %s, %d bytes, want 200 and 32 bytes", resp.Status, len(body))
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("Content-Type %q, want application/octet-stream", ct)
		}
		if !resp.Close {
			t.Errorf("response does not close its connection")
		}
		seen = append(seen, body)
	}
	if seen[0] == seen[1] {
		t.Errorf("two GET /32 returned the same bytes")
	}
	if _, body := cointest.Get(t, base+"/1000"); len(body) != 1000 {
		t.Errorf("GET /1000: %d bytes", len(body))
	}
	if resp, _ := cointest.Get(t, base+"/abc"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /abc: %s, want 400", resp.Status)
	}

	cointest.Banner(t, base, "RNG")
	if !strings.Contains(proc.Output(), `"GET /32 HTTP/1.1" 200 32`) {
		t.Errorf("no access log line for GET /32 in:\n%s", proc.Output())
	}
}

// TestOneRequestAtATime checks the global lock: ten concurrent /1 take a
// second in total, and / (GET or HEAD) queues behind them.
func TestOneRequestAtATime(t *testing.T) {
	t.Parallel()
	_, base := cointest.Service(t, bins, "rng")
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 10 {
		wg.Go(func() {
			resp, err := http.Get(base + "/1")
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	}
	time.Sleep(50 * time.Millisecond) // let the ten queue up first
	slow := map[string]time.Duration{}
	var mu sync.Mutex
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		wg.Go(func() {
			t0 := time.Now()
			req, _ := http.NewRequest(method, base+"/", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			mu.Lock()
			slow[method] = time.Since(t0)
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := time.Since(start)
	t.Logf("10 concurrent /1 plus GET and HEAD /: %s; / waited GET %s, HEAD %s", total, slow["GET"], slow["HEAD"])
	if total < time.Second {
		t.Errorf("10 concurrent /1 took %s, want >= 1s (one at a time, 100 ms each)", total)
	}
	for method, d := range slow {
		// Nine or so requests of 100 ms are ahead of it.
		if d < 500*time.Millisecond {
			t.Errorf("%s / answered in %s while /1 requests were queued: it must wait behind them", method, d)
		}
	}
}
