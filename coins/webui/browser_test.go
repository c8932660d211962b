package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/labctl/labctl/coins/internal/cointest"
)

// kubeProxyPrefix is where kubectl proxy serves the webui service.
const kubeProxyPrefix = "/api/v1/namespaces/dockercoins/services/webui/proxy/"

var speedText = regexp.MustCompile(`^Current mining speed: ~\d+\.\d hashes/second$`)

// pageState is what the page shows, read from the DOM.
type pageState struct {
	Samples int     `json:"samples"`
	Width   float64 `json:"width"`  // bounding box of the area graph
	Height  float64 `json:"height"` // idem: 0 if nothing was mined
	Fill    string  `json:"fill"`
	Speed   string  `json:"speed"`
}

const readPage = `(() => {
  const area = document.getElementById("area");
  const box = area.getBBox();
  return {
    samples: Number(document.getElementById("graph").getAttribute("data-samples") || 0),
    width: box.width, height: box.height,
    fill: getComputedStyle(area).fill,
    speed: document.getElementById("speed").textContent,
  };
})()`

// TestPageInChromium loads the page in a real headless Chromium with the
// whole stack mining, directly and through a kubectl-proxy-like prefix.
func TestPageInChromium(t *testing.T) {
	chromium := cointest.Need(t, "chromium", "chromium")
	r := cointest.StartRedis(t)
	_, rng := cointest.Service(t, bins, "rng")
	_, hasher := cointest.Service(t, bins, "hasher")
	cointest.Start(t, "worker", []string{bins + "/worker"},
		"DOCKERCOINS_REDIS="+r.Addr, "DOCKERCOINS_RNG="+rng, "DOCKERCOINS_HASHER="+hasher)
	_, base := startWebui(t, r.Addr)

	// The prefix proxy answers 404 outside the prefix and counts it: an
	// absolute URL in the page would show up there.
	target, _ := url.Parse(base)
	rp := httputil.NewSingleHostReverseProxy(target)
	var outside atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rest, ok := strings.CutPrefix(req.URL.Path, kubeProxyPrefix)
		if !ok {
			outside.Add(1)
			t.Logf("request outside the prefix: %s", req.URL.Path)
			http.NotFound(w, req)
			return
		}
		req.URL.Path = "/" + rest
		req.URL.RawPath = ""
		rp.ServeHTTP(w, req)
	}))
	defer proxy.Close()

	userData := t.TempDir()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(userData), chromedp.WindowSize(1000, 600))
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if _, err := chromedp.Run(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}

	artifacts := os.Getenv("LABCTL_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	for _, c := range []struct{ name, url string }{
		{"direct", base + "/index.html"},
		{"kubectl-proxy", proxy.URL + kubeProxyPrefix + "index.html"},
	} {
		tab, cancel := chromedp.NewContext(browser)
		st := waitForGraph(t, tab, c.url)
		png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
		cancel()
		if err != nil {
			t.Fatalf("%s: screenshot: %v", c.name, err)
		}
		shot := filepath.Join(artifacts, "dockercoins-webui-"+c.name+".png")
		if err := os.WriteFile(shot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d samples, graph %.0fx%.0f px, %q; screenshot %s", c.name, st.Samples, st.Width, st.Height, st.Speed, shot)
	}
	if n := outside.Load(); n > 0 {
		t.Errorf("the page made %d requests outside the kubectl proxy prefix", n)
	}
}

// waitForGraph loads url and waits until the graph has several samples and
// a visible area; it fails the test with the last state otherwise.
func waitForGraph(t *testing.T, tab context.Context, url string) pageState {
	t.Helper()
	if _, err := chromedp.Run(tab, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate %s: %v", url, err)
	}
	var st pageState
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		raw, err := chromedp.Run(tab, chromedp.Evaluate[[]byte](readPage))
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		if st.Samples >= 4 && st.Height > 10 && st.Width > 5 && speedText.MatchString(st.Speed) {
			if st.Fill != "rgb(70, 130, 180)" { // steelblue
				t.Errorf("%s: area filled with %s, want steelblue", url, st.Fill)
			}
			return st
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: the graph did not draw within 15 s: %+v", url, st)
	return st
}
