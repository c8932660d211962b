package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/addons/prometheus"
)

// scrapeInterval is the prometheus add-on's global scrape_interval.
const scrapeInterval = 15 * time.Second

// promTarget is one of /api/v1/targets' active targets.
type promTarget struct {
	ScrapePool string            `json:"scrapePool"`
	ScrapeURL  string            `json:"scrapeUrl"`
	Labels     map[string]string `json:"labels"`
	Health     string            `json:"health"`
	LastError  string            `json:"lastError"`
}

func activeTargets(t *testing.T, base, pool string) []promTarget {
	t.Helper()
	var res struct {
		Data struct {
			ActiveTargets []promTarget `json:"activeTargets"`
		} `json:"data"`
	}
	getJSON(t, base+"/api/v1/targets?state=active", &res)
	var out []promTarget
	for _, tg := range res.Data.ActiveTargets {
		if tg.ScrapePool == pool {
			out = append(out, tg)
		}
	}
	return out
}

// waitTarget polls the targets API (every second, at most within) until
// pool has a target whose labels include want and whose health is up, or
// (gone) until it has none; it returns the target and how long it took.
func waitTarget(t *testing.T, base, pool string, want map[string]string, gone bool, within time.Duration) (promTarget, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		var match *promTarget
		all := activeTargets(t, base, pool)
		for i, tg := range all {
			ok := true
			for k, v := range want {
				ok = ok && tg.Labels[k] == v
			}
			if ok {
				match = &all[i]
			}
		}
		switch {
		case gone && match == nil:
			return promTarget{}, time.Since(start)
		case !gone && match != nil && match.Health == "up":
			return *match, time.Since(start)
		}
		if time.Since(start) > within {
			if gone {
				t.Fatalf("%s still has a target %v after %s: %+v", pool, want, within, *match)
			}
			t.Fatalf("%s has no up target %v after %s: %+v", pool, want, within, all)
		}
		time.Sleep(time.Second)
	}
}

// queryVector runs an instant PromQL query and returns its series.
func queryVector(t *testing.T, base, q string) []map[string]string {
	t.Helper()
	var res struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	getJSON(t, base+"/api/v1/query?query="+url.QueryEscape(q), &res)
	if res.Status != "success" {
		t.Fatalf("query %s: status %q", q, res.Status)
	}
	var out []map[string]string
	for _, r := range res.Data.Result {
		out = append(out, r.Metric)
	}
	return out
}

// annotatedTargets replays the deck's "Detecting scrape targets" slide on
// a lab with the prometheus add-on: a Deployment behind a Service
// annotated prometheus.io/scrape, port and path, and a pod annotated the
// same way (on another port and path, which only the annotations tell),
// become up targets within two scrape intervals with no restart of
// Prometheus, their metrics answer a PromQL query, and taking the
// annotation away takes the targets away. The app serving /metrics is
// Prometheus itself, from the image the lab already has.
func annotatedTargets(t *testing.T, l *testLab) {
	st := readState(t, l)
	base := "http://" + net.JoinHostPort(st.Cluster(1).Node("node2").PublicAddress, strconv.Itoa(prometheus.NodePort))
	serverPod := func() string {
		out, code := asAttendee(t, l, "1m", `kubectl -n prometheus get pods -l app.kubernetes.io/name=prometheus -o jsonpath='server={.items[*].metadata.uid}'`)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
		return regexp.MustCompile(`server=\S+`).FindString(out)
	}
	before := serverPod()

	out, code := asAttendee(t, l, "4m", `
IMG=$(kubectl -n prometheus get deploy prometheus-server -o jsonpath='{.spec.template.spec.containers[0].image}')
cat <<EOF | kubectl apply -f -
apiVersion: apps/v1
kind: Deployment
metadata:
  name: metricsdemo
spec:
  selector:
    matchLabels: {app: metricsdemo}
  template:
    metadata:
      labels: {app: metricsdemo}
    spec:
      containers:
      - name: app
        image: $IMG
        args: [--config.file=/dev/null, --storage.tsdb.path=/scratch]
        ports: [{name: http, containerPort: 9090}]
        readinessProbe: {httpGet: {path: /-/ready, port: http}, periodSeconds: 2}
        volumeMounts: [{name: scratch, mountPath: /scratch}]
      volumes: [{name: scratch, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata:
  name: metricsdemo
  annotations:
    prometheus.io/scrape: "true"
    prometheus.io/port: "9090"
    prometheus.io/path: /metrics
spec:
  selector: {app: metricsdemo}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Pod
metadata:
  name: metricsdemo-pod
  labels: {app: metricsdemo-pod}
  annotations:
    prometheus.io/scrape: "true"
    prometheus.io/port: "9091"
    prometheus.io/path: /demo/metrics
spec:
  containers:
  - name: app
    image: $IMG
    args: [--config.file=/dev/null, --storage.tsdb.path=/scratch, --web.listen-address=:9091, --web.route-prefix=/demo]
    readinessProbe: {httpGet: {path: /demo/-/ready, port: 9091}, periodSeconds: 2}
    volumeMounts: [{name: scratch, mountPath: /scratch}]
  volumes: [{name: scratch, emptyDir: {}}]
EOF
kubectl rollout status deployment metricsdemo --timeout=120s
kubectl wait --for=condition=Ready pod/metricsdemo-pod --timeout=120s`)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	defer asAttendee(t, l, "2m", `kubectl delete deployment,service metricsdemo --wait=false; kubectl delete pod metricsdemo-pod --wait=false`)

	cases := []struct {
		pool, kind string
		labels     map[string]string
		url        string // the scrape URL's path, port
	}{
		{"kubernetes-service-endpoints", "Service", map[string]string{"namespace": "default", "service": "metricsdemo"}, `:9090/metrics$`},
		{"kubernetes-pods", "pod", map[string]string{"namespace": "default", "pod": "metricsdemo-pod"}, `:9091/demo/metrics$`},
	}
	for _, c := range cases {
		t.Run(c.kind+" annotated as the slide says: an up target within two scrape intervals, and its metric", func(t *testing.T) {
			tg, took := waitTarget(t, base, c.pool, c.labels, false, 2*scrapeInterval)
			t.Logf("%s target %s up %s after the app was ready; labels %v", c.pool, tg.ScrapeURL, took.Round(time.Second), tg.Labels)
			if !regexp.MustCompile(`^http://[0-9.]+` + c.url).MatchString(tg.ScrapeURL) {
				t.Errorf("scrape URL %s, want http://POD-IP%s", tg.ScrapeURL, c.url)
			}
			if tg.Labels["node"] == "" || tg.Labels["node"] == "node1" {
				t.Errorf("node label %q: want the worker the pod runs on", tg.Labels["node"])
			}
			if c.kind == "Service" && !strings.HasPrefix(tg.Labels["pod"], "metricsdemo-") {
				t.Errorf("pod label %q: want the Deployment's pod", tg.Labels["pod"])
			}
			sel := fmt.Sprintf(`job=%q`, c.pool)
			for _, k := range []string{"namespace", "service", "pod"} {
				if v, ok := c.labels[k]; ok {
					sel += fmt.Sprintf(`,%s=%q`, k, v)
				}
			}
			series := queryVector(t, base, `prometheus_build_info{`+sel+`}`)
			if len(series) != 1 || series[0]["version"] == "" {
				t.Errorf("prometheus_build_info{%s}: %v; want the app's one series", sel, series)
			}
		})
	}
	if after := serverPod(); after != before {
		t.Errorf("the Prometheus server was restarted (%s, now %s): discovery needs no restart", before, after)
	}

	t.Run("removing the annotation removes the targets", func(t *testing.T) {
		if out, code := asAttendee(t, l, "1m", `kubectl annotate service metricsdemo prometheus.io/scrape-
kubectl annotate pod metricsdemo-pod prometheus.io/scrape-`); code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		for _, c := range cases {
			_, took := waitTarget(t, base, c.pool, c.labels, true, 2*scrapeInterval)
			t.Logf("%s: target gone after %s", c.pool, took.Round(time.Second))
		}
	})
}

// etcdctlChecks: the admin chapters' backup, in the etcd pod with
// kubeadm's certificates: etcdctl and etcdutl are on the image's PATH,
// from the server's release.
func etcdctlChecks(t *testing.T, l *testLab) {
	out, code := asAttendee(t, l, "3m", `
E="kubectl -n kube-system exec etcd-node1 --"
TLS="--endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/server.crt --key=/etc/kubernetes/pki/etcd/server.key"
$E etcd --version | sed 's/^/server: /'
$E etcdctl version | sed 's/^/etcdctl: /'
$E etcdutl version | sed 's/^/etcdutl: /'
$E etcdctl $TLS endpoint health
$E etcdctl $TLS snapshot save /tmp/labctl-e2e.db
$E etcdutl snapshot status /tmp/labctl-e2e.db -w json | sed 's/^/status: /'`)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	server := regexp.MustCompile(`server: etcd Version: (\S+)`).FindStringSubmatch(out)
	if server == nil {
		t.Fatalf("no etcd version:\n%s", out)
	}
	for _, tool := range []string{"etcdctl", "etcdutl"} {
		if !strings.Contains(out, tool+": "+tool+" version: "+server[1]+"\n") {
			t.Errorf("%s is not from etcd %s:\n%s", tool, server[1], out)
		}
	}
	if !strings.Contains(out, "127.0.0.1:2379 is healthy") || !strings.Contains(out, "Snapshot saved at /tmp/labctl-e2e.db") {
		t.Errorf("etcdctl endpoint health or snapshot save:\n%s", out)
	}
	m := regexp.MustCompile(`(?m)^status: (\{.*\})$`).FindStringSubmatch(out)
	var status struct {
		Hash      uint32 `json:"hash"`
		Revision  int64  `json:"revision"`
		TotalKey  int    `json:"totalKey"`
		TotalSize int64  `json:"totalSize"`
	}
	if m == nil || json.Unmarshal([]byte(m[1]), &status) != nil || status.Revision == 0 || status.TotalKey < 100 || status.TotalSize == 0 {
		t.Errorf("etcdutl snapshot status: %+v\n%s", status, out)
	}
	t.Logf("snapshot: revision %d, %d keys, %d bytes", status.Revision, status.TotalKey, status.TotalSize)
}
