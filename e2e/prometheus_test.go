package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/labctl/labctl/internal/browsertest"
)

// deckQuery is the metrics chapter's PromQL, with `pod` for the old
// cAdvisor label `pod_name` (renamed in Kubernetes 1.16).
const deckQuery = `sum by (instance) (
  rate(
    container_cpu_usage_seconds_total{
      pod=~"worker.*"
    }[5m]
  )
)`

// prometheusChapter replays the metrics chapter on a lab with the
// prometheus add-on and DockerCoins mining: find the NodePort as the deck
// does, run its query through the HTTP API, and load the UI in headless
// Chromium. nodes are the cluster's node names.
func prometheusChapter(t *testing.T, l *testLab, nodes []string) {
	t.Helper()
	// The deck: `kubectl get svc | grep prometheus-server` (in its own
	// namespace here), and where the workers run.
	out, code := asAttendee(t, l, "2m", `kubectl get svc -A | grep prometheus-server
kubectl get pods -A -l app=worker -o wide --no-headers`)
	m := regexp.MustCompile(`prometheus-server\s+NodePort\s+\S+\s+\S+\s+80:(\d+)/TCP`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("no prometheus-server NodePort (exit %d):\n%s", code, out)
	}
	var workerNodes []string
	for _, n := range nodes {
		if regexp.MustCompile(`(?m)^\S+\s+worker-\S+\s+1/1\s+Running\s.*\s` + n + `\s`).MatchString(out) {
			workerNodes = append(workerNodes, n)
		}
	}
	if len(workerNodes) == 0 {
		t.Fatalf("no running worker pod:\n%s", out)
	}
	st := readState(t, l)
	base := "http://" + net.JoinHostPort(st.Cluster(1).Node("node2").PublicAddress, m[1])

	t.Run("every kubelet's cAdvisor is scraped", func(t *testing.T) {
		var targets struct {
			Data struct {
				ActiveTargets []struct {
					ScrapePool string            `json:"scrapePool"`
					Labels     map[string]string `json:"labels"`
					Health     string            `json:"health"`
					LastError  string            `json:"lastError"`
				} `json:"activeTargets"`
			} `json:"data"`
		}
		var up []string
		deadline := time.Now().Add(2 * time.Minute)
		for {
			getJSON(t, base+"/api/v1/targets?state=active", &targets)
			up = up[:0]
			var seen []string
			for _, tg := range targets.Data.ActiveTargets {
				if tg.ScrapePool != "kubernetes-cadvisor" {
					continue
				}
				seen = append(seen, fmt.Sprintf("%s %s %q", tg.Labels["instance"], tg.Health, tg.LastError))
				if tg.Health == "up" {
					up = append(up, tg.Labels["instance"])
				}
			}
			slices.Sort(up)
			if slices.Equal(up, nodes) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cAdvisor targets up: %v; all: %v", up, seen)
			}
			time.Sleep(5 * time.Second)
		}
	})

	t.Run("the deck's query returns the workers' CPU per node", func(t *testing.T) {
		var res struct {
			Status string `json:"status"`
			Data   struct {
				ResultType string `json:"resultType"`
				Result     []struct {
					Metric map[string]string `json:"metric"`
					Value  [2]any            `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		var got []string
		deadline := time.Now().Add(3 * time.Minute)
		for {
			getJSON(t, base+"/api/v1/query?query="+url.QueryEscape(deckQuery), &res)
			got = got[:0]
			for _, r := range res.Data.Result {
				if v, _ := r.Value[1].(string); v != "" && v != "0" && r.Metric["instance"] != "" {
					got = append(got, r.Metric["instance"])
				}
			}
			slices.Sort(got)
			if res.Status == "success" && slices.Equal(got, workerNodes) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("query %s: status %s, %s result %+v; want a non-zero series for %v", deckQuery, res.Status, res.Data.ResultType, res.Data.Result, workerNodes)
			}
			time.Sleep(5 * time.Second)
		}
		t.Logf("worker CPU per node: %+v", res.Data.Result)
	})

	t.Run("the UI loads in headless Chromium", func(t *testing.T) {
		checkPrometheusUI(t, base)
	})
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	c := http.Client{Timeout: 20 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// checkPrometheusUI opens the UI's targets page, which the browser renders
// from the API: the cAdvisor job's name on the page proves the JavaScript
// ran and talked to the server.
func checkPrometheusUI(t *testing.T, base string) {
	t.Helper()
	ctx, stop := browsertest.Chromium(t, 1200, 800, 90*time.Second)
	defer stop()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(base+"/targets")); err != nil {
		t.Fatalf("navigate %s/targets: %v", base, err)
	}
	var text, title string
	for {
		var err error
		if title, err = chromedp.Run(ctx, chromedp.Title()); err == nil {
			text, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		}
		if err != nil {
			t.Fatalf("%s/targets: %v (page text so far: %q)", base, err, text)
		}
		if strings.Contains(text, "kubernetes-cadvisor") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s/targets never showed the cAdvisor job; title %q, text %q", base, title, text)
		case <-time.After(time.Second):
		}
	}
	if !strings.Contains(title, "Prometheus") {
		t.Errorf("title %q", title)
	}
	t.Logf("UI %s/targets: title %q, %d characters of text", base, title, len(text))
}
