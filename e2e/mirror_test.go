package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMirror: on a lab that cannot reach any registry, the deck's first
// DockerCoins step, `kubectl create deployment redis --image=redis` (tag
// latest, pull policy Always), becomes Ready, and `docker pull redis` works,
// both through the node-local docker.io mirror labctl installs.
func TestMirror(t *testing.T) {
	needE2E(t)
	l := newLab(t, "i9m-mirror", "attendees: 1\nnodesPerCluster: 2\nkubernetes: {version: \"1.34.4\", cni: bridge, source: cache}\nnodes: {portworxSize: \"0\"}\n")
	start := time.Now()
	up := labctl(t, l, "", "up")
	t.Logf("up took %s", time.Since(start).Round(time.Second))
	if up.code != 0 {
		t.Fatalf("up failed (exit %d): %s", up.code, up.stderr)
	}
	for _, n := range []string{"01/node1", "01/node2"} {
		if !strings.Contains(up.stdout, n+": serving them as docker.io on 127.0.0.1:5999") {
			t.Errorf("%s: up did not install the mirror", n)
		}
	}

	t.Run("kubectl create deployment redis --image=redis becomes Ready offline", func(t *testing.T) {
		r := labctl(t, l, "", "exec", "--node", "node1", "--timeout", "5m", "--", `su - k8s -c 'set -e
kubectl create deployment redis --image=redis
kubectl rollout status deployment/redis --timeout=4m
echo policy=$(kubectl get deployment redis -o jsonpath="{.spec.template.spec.containers[0].imagePullPolicy}")
echo ping=$(kubectl exec deployment/redis -- redis-cli ping)
echo node=$(kubectl get pods -l app=redis -o jsonpath="{.items[0].spec.nodeName}")
kubectl delete deployment redis --wait=false'`)
		if r.code != 0 {
			events := labctl(t, l, "", "exec", "--node", "node1", "--", "su - k8s -c 'kubectl get events --sort-by=.lastTimestamp | tail -20'")
			t.Fatalf("redis did not become Ready (exit %d):\n%s\n%s", r.code, r.stdout, events.stdout)
		}
		for _, want := range []string{"policy=Always", "ping=PONG"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("no %q in:\n%s", want, r.stdout)
			}
		}
		m := regexp.MustCompile(`node=(node\d)`).FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("no node in:\n%s", r.stdout)
		}
		// kubelet asked the mirror (pull policy Always), not only the store.
		j := labctl(t, l, "", "exec", "--node", m[1], "--", "journalctl -u labctl-mirror --no-pager -o cat | grep -c 'library/redis/manifests/latest 200'")
		if j.code != 0 {
			t.Errorf("the mirror on %s never served redis:latest:\n%s", m[1], j.stdout)
		}
	})

	t.Run("docker pull redis and dockercoins/rng:v0.1 on node2", func(t *testing.T) {
		r := labctl(t, l, "", "exec", "--node", "node2", "--timeout", "3m", "--", `su - k8s -c 'set -e
docker pull -q redis
docker pull -q dockercoins/rng:v0.1
docker run --rm redis --version
docker rmi -f redis dockercoins/rng:v0.1 >/dev/null'`)
		if r.code != 0 || !strings.Contains(r.stdout, "Redis server v=7.0.") {
			t.Fatalf("docker pull through the mirror failed (exit %d):\n%s", r.code, r.stdout)
		}
	})

	t.Run("the mirror restarts by itself and is enabled at boot", func(t *testing.T) {
		r := labctl(t, l, "", "exec", "--timeout", "1m", "--", `set -e
systemctl is-enabled labctl-mirror
systemctl kill -s KILL labctl-mirror
for i in $(seq 30); do curl -fs -o /dev/null http://127.0.0.1:5999/v2/library/redis/manifests/latest && break; sleep 1; done
curl -fsS -o /dev/null http://127.0.0.1:5999/v2/library/redis/manifests/latest && echo mirror-back`)
		if r.code != 0 || strings.Count(r.stdout, "mirror-back") != 2 || strings.Count(r.stdout, "enabled") != 2 {
			t.Fatalf("(exit %d):\n%s", r.code, r.stdout)
		}
	})

	t.Run("a second up leaves the mirror alone", func(t *testing.T) {
		r := labctl(t, l, "", "up")
		if r.code != 0 {
			t.Fatalf("second up failed (exit %d)", r.code)
		}
		if strings.Contains(r.stdout, "serving them as docker.io") || strings.Contains(r.stdout, "restarted labctl-mirror") {
			t.Errorf("second up touched the mirror:\n%s", r.stdout)
		}
	})
}
