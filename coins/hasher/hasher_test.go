package main

import (
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/labctl/labctl/coins/internal/cointest"
)

var bins string

func TestMain(m *testing.M) { os.Exit(cointest.Main(m, &bins, "hasher")) }

func TestHashes(t *testing.T) {
	t.Parallel()
	proc, base := cointest.Service(t, bins, "hasher")
	for in, want := range map[string]string{
		"":           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"hello":      "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
		"\x00\xff\n": "712450d3c4a79eea9509e75dc1dacdeff58034df538536cfae2da882bd8a0c50",
	} {
		resp, got := cointest.Post(t, base+"/", in)
		if resp.StatusCode != 200 || got != want {
			t.Errorf("POST %q: %s %q, want 200 %q", in, resp.Status, got, want)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/plain" {
			t.Errorf("Content-Type %q, want text/plain", ct)
		}
	}
	cointest.Banner(t, base, "HASHER")
	if !strings.Contains(proc.Output(), `"POST / HTTP/1.1" 200 64`) {
		t.Errorf("no access log line for POST / in:\n%s", proc.Output())
	}
}

// TestConcurrent: ten hashes at once take about one 100 ms sleep, not ten.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	_, base := cointest.Service(t, bins, "hasher")
	start := time.Now()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			resp, err := http.Post(base+"/", "application/octet-stream", strings.NewReader("x"))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("10 concurrent hashes: %s", elapsed)
	if elapsed < 100*time.Millisecond || elapsed > 700*time.Millisecond {
		t.Errorf("10 concurrent hashes took %s, want between 100 ms (the sleep) and 700 ms (not serialised)", elapsed)
	}
}

func TestExitsOnSIGTERM(t *testing.T) {
	t.Parallel()
	proc, _ := cointest.Service(t, bins, "hasher")
	if err := proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if !proc.Wait(3 * time.Second) {
		t.Fatal("hasher still running 3 s after SIGTERM")
	}
}
