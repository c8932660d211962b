package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/coins/internal/cointest"
)

var bins string

func TestMain(m *testing.M) {
	os.Exit(cointest.Main(m, &bins, "webui", "rng", "hasher", "worker"))
}

// filesDir is the page's directory in the source tree.
func filesDir(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "files")
}

// startWebui starts webui against redisAddr, serving the source tree's files.
func startWebui(t testing.TB, redisAddr string) (*cointest.Proc, string) {
	return cointest.Service(t, bins, "webui", "DOCKERCOINS_REDIS="+redisAddr, "DOCKERCOINS_FILES="+filesDir(t))
}

var noRedirect = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirect.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// getJSON decodes /json into a generic map, to check the wire types.
func getJSON(t *testing.T, base string) map[string]any {
	t.Helper()
	resp, body := get(t, base+"/json")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /json: %s %s", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("GET /json: %v: %s", err, body)
	}
	if len(m) != 3 {
		t.Errorf("GET /json: %s, want exactly coins, hashes, now", body)
	}
	now, ok := m["now"].(float64)
	if !ok || now-float64(time.Now().Unix()) > 5 || float64(time.Now().Unix())-now > 5 {
		t.Errorf("now = %#v, want the current unix time as a number", m["now"])
	}
	if !strings.Contains(body, ".") {
		t.Errorf("now is not a float in %s", body)
	}
	return m
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	r := cointest.StartRedis(t)
	_, base := startWebui(t, r.Addr)

	resp, _ := get(t, base+"/")
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/index.html" {
		t.Errorf("GET /: %s Location %q, want 302 /index.html", resp.Status, resp.Header.Get("Location"))
	}
	resp, body := get(t, base+"/index.html")
	if resp.StatusCode != 200 || !strings.Contains(body, `src="webui.js"`) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("GET /index.html: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	for _, asset := range []string{"webui.js", "webui.css"} {
		if resp, _ := get(t, base+"/"+asset); resp.StatusCode != 200 {
			t.Errorf("GET /%s: %s", asset, resp.Status)
		}
	}
	for _, bad := range []string{"/../main.go", "/%2e%2e/main.go", "/nope", "/files"} {
		if resp, _ := get(t, base+bad); resp.StatusCode != 404 {
			t.Errorf("GET %s: %s, want 404", bad, resp.Status)
		}
	}

	m := getJSON(t, base)
	if m["coins"] != float64(0) || m["hashes"] != nil {
		t.Errorf("empty Redis: coins %#v hashes %#v, want 0 and null", m["coins"], m["hashes"])
	}
	ctx := context.Background()
	rc := cointest.Client(t, r.Addr)
	if err := rc.IncrBy(ctx, "hashes", 42).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.HSet(ctx, "wallet", "0abc", "x", "0def", "y").Err(); err != nil {
		t.Fatal(err)
	}
	m = getJSON(t, base)
	if m["coins"] != float64(2) || m["hashes"] != "42" {
		t.Errorf("coins %#v hashes %#v, want 2 and the string \"42\"", m["coins"], m["hashes"])
	}
}

// TestRedisOutage: webui answers errors while Redis is down and serves again
// once it is back, without restarting.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	r := cointest.StartRedis(t)
	proc, base := startWebui(t, r.Addr)
	getJSON(t, base)
	r.Stop()
	for range 3 {
		if resp, _ := get(t, base+"/json"); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("GET /json with Redis down: %s, want 503", resp.Status)
		}
	}
	if proc.Wait(500 * time.Millisecond) {
		t.Fatal("webui exited while Redis was down")
	}
	r.Start()
	getJSON(t, base)
}
