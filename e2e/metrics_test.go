package e2e

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/coins/images"
)

// metricsLab is a 1×2 local lab, with or without metrics-server.
func metricsLabFile(withAddon bool) string {
	body := "attendees: 1\nnodesPerCluster: 2\nkubernetes: {version: \"1.34.4\", cni: bridge, source: cache}\n"
	if withAddon {
		body += "addons: [metrics-server]\n"
	}
	return body
}

// topScript runs, as the attendee on node1, `kubectl top nodes` until it
// lists every node (at most 3 minutes), then `kubectl top pods` and counts
// metrics-server's log lines about x509. kubectl keeps the API's discovery
// for hours: the attendee's cache from before metrics-server was (re)added
// would hide it, so it goes first.
const topScript = `su - k8s -c '
rm -rf ~/.kube/cache
for i in $(seq 90); do
  out=$(kubectl top nodes --no-headers 2>&1) && [ "$(echo "$out" | grep -c "^node")" -eq 2 ] && break
  sleep 2
done
echo "$out" | sed "s/^/top-nodes: /"
kubectl top pods -n kube-system --no-headers 2>&1 | sed "s/^/top-pods: /"
echo "x509-lines: $(kubectl -n kube-system logs deploy/metrics-server 2>&1 | grep -ci x509)"
kubectl -n kube-system logs deploy/metrics-server 2>&1 | grep -i x509 | head -3
kubectl get csr --no-headers 2>&1 | sed "s/^/csr: /"
'`

// hpaScript replays the course's autoscaling step: an HPA on a Deployment
// with a CPU request gets a current CPU utilization from the metrics API.
// The workload is the preloaded redis (tagged: no pull): metrics-server
// drops a container whose CPU counter reads zero, as an idle pause might.
var hpaScript = `su - k8s -c '
kubectl create deployment i9ms-hpa --image=` + images.RedisRef + ` >/dev/null
kubectl set resources deployment i9ms-hpa --requests=cpu=10m >/dev/null
kubectl autoscale deployment i9ms-hpa --cpu=50% --min=1 --max=2 >/dev/null
for i in $(seq 90); do
  u=$(kubectl get hpa i9ms-hpa -o jsonpath="{.status.currentMetrics[0].resource.current.averageUtilization}")
  [ -n "$u" ] && break
  sleep 2
done
echo "hpa-utilization: ${u:-none}"
kubectl get hpa i9ms-hpa --no-headers
[ -n "$u" ] || { kubectl top pods --no-headers 2>&1; kubectl describe hpa i9ms-hpa | sed -n "/Conditions/,\$p"; }
kubectl delete hpa,deployment i9ms-hpa >/dev/null
'`

// TestMetricsServer brings up a lab with metrics-server and proves it the
// way the course uses it, as the attendee: `kubectl top nodes` lists every
// node (kubelet serving certificates verified: metrics-server runs without
// --kubelet-insecure-tls and logs no x509 error), `kubectl top pods`, an
// HPA. Then the add-on is removed (kubelets back to self-signed, the
// metrics API gone) and added again, on the same cluster.
func TestMetricsServer(t *testing.T) {
	needE2E(t)
	l := newLab(t, "i9ms-top", metricsLabFile(true))
	start := time.Now()
	if up := labctl(t, l, "", "up"); up.code != 0 {
		t.Fatalf("up failed (exit %d): %s", up.code, up.stderr)
	}
	t.Logf("up with metrics-server took %s", time.Since(start).Round(time.Second))
	checkTop(t, l)

	t.Run("an HPA reads CPU utilization", func(t *testing.T) {
		r := labctl(t, l, "", "exec", "--cluster", "1", "--node", "node1", "--timeout", "5m", "--", hpaScript)
		if m := regexp.MustCompile(`hpa-utilization: (\d+)`).FindStringSubmatch(r.stdout); m == nil {
			t.Errorf("the HPA never got a CPU utilization:\n%s", r.stdout)
		}
	})

	t.Run("a re-run approves nothing new and changes nothing", func(t *testing.T) {
		r := labctl(t, l, "", "up")
		if r.code != 0 || !strings.Contains(r.stdout, "add-ons unchanged") || strings.Contains(r.stdout, "kubelet restarted") {
			t.Fatalf("re-run (exit %d) did work:\n%s", r.code, r.stdout)
		}
	})

	t.Run("removed, then added again", func(t *testing.T) {
		write(t, l.file, "name: "+l.name+"\n"+metricsLabFile(false))
		r := labctl(t, l, "", "up")
		if r.code != 0 || !strings.Contains(r.stdout, "serverTLSBootstrap off") || !strings.Contains(r.stdout, "APIService/v1beta1.metrics.k8s.io") {
			t.Fatalf("removing metrics-server (exit %d):\n%s", r.code, r.stdout)
		}
		g := labctl(t, l, "", "exec", "--", "grep -c serverTLSBootstrap /var/lib/kubelet/config.yaml || true; su - k8s -c 'kubectl top nodes' 2>&1 | head -1 || true")
		if strings.Contains(g.stdout, "] 1") {
			t.Errorf("a kubelet still asks for CA-signed serving certificates:\n%s", g.stdout)
		}
		write(t, l.file, "name: "+l.name+"\n"+metricsLabFile(true))
		if r := labctl(t, l, "", "up"); r.code != 0 || !strings.Contains(r.stdout, "serverTLSBootstrap on") {
			t.Fatalf("adding metrics-server back (exit %d):\n%s", r.code, r.stdout)
		}
		checkTop(t, l)
	})
}

// checkTop runs topScript and checks what it printed.
func checkTop(t *testing.T, l *testLab) {
	t.Helper()
	r := labctl(t, l, "", "exec", "--cluster", "1", "--node", "node1", "--timeout", "5m", "--", topScript)
	for _, n := range []string{"node1", "node2"} {
		if !regexp.MustCompile(`\[01/node1\] top-nodes: ` + n + `\s+\d+m\s`).MatchString(r.stdout) {
			t.Errorf("kubectl top nodes does not list %s:\n%s", n, r.stdout)
		}
	}
	if !regexp.MustCompile(`top-pods: metrics-server-\S+\s+\d+m\s`).MatchString(r.stdout) {
		t.Errorf("kubectl top pods does not list metrics-server:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "x509-lines: 0") {
		t.Errorf("metrics-server logged x509 errors:\n%s", r.stdout)
	}
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
