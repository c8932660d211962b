package e2e

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/labctl/labctl/coins/images"
)

// topScript runs, as the attendee on node1, `kubectl top nodes` until it
// gives figures for all the cluster's nodes (at most 3 minutes: a node
// shows <unknown> until metrics-server has scraped it twice), then `kubectl top
// pods` and counts metrics-server's log lines about x509. kubectl keeps the
// API's discovery for hours: the attendee's cache from before
// metrics-server was (re)added would hide it, so it goes first.
func topScript(nodes int) string {
	return `su - k8s -c '
rm -rf ~/.kube/cache
for i in $(seq 90); do
  out=$(kubectl top nodes --no-headers 2>&1) && [ "$(echo "$out" | grep -cE "^node[0-9]+ +[0-9]+m ")" -eq ` + strconv.Itoa(nodes) + ` ] && break
  sleep 2
done
echo "top-tries: $i"
echo "$out" | sed "s/^/top-nodes: /"
kubectl top pods -n kube-system --no-headers 2>&1 | sed "s/^/top-pods: /"
echo "x509-lines: $(kubectl -n kube-system logs deploy/metrics-server 2>&1 | grep -ci x509)"
kubectl -n kube-system logs deploy/metrics-server 2>&1 | grep -i x509 | head -3
kubectl get csr --no-headers 2>&1 | sed "s/^/csr: /"
'`
}

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

// checkTop runs topScript on a cluster of nodes nodes, checks what it
// printed, and returns how many times it ran kubectl top nodes.
func checkTop(t *testing.T, l *testLab, nodes int) int {
	t.Helper()
	r := labctl(t, l, "", "exec", "--cluster", "1", "--node", "node1", "--timeout", "5m", "--", topScript(nodes))
	for i := 1; i <= nodes; i++ {
		n := fmt.Sprintf("node%d", i)
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
	m := regexp.MustCompile(`top-tries: (\d+)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("topScript printed no try count:\n%s", r.stdout)
	}
	tries, _ := strconv.Atoi(m[1])
	return tries
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
