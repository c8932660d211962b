package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// mirrorChecks runs on TestCourse's lab, after its DockerCoins chapter
// pulled redis:latest (pull policy Always) through the node-local docker.io
// mirror labctl installs: the lab cannot reach any registry.
func mirrorChecks(t *testing.T, l *testLab, up result) {
	t.Run("up installed the docker.io mirror on every node", func(t *testing.T) {
		for _, n := range []string{"01/node1", "01/node2", "01/node3"} {
			if !strings.Contains(up.stdout, n+": serving them as docker.io on 127.0.0.1:5999") {
				t.Errorf("%s: up did not install the mirror", n)
			}
		}
	})

	t.Run("kubelet asked the mirror for redis:latest, not only its store", func(t *testing.T) {
		r := labctl(t, l, "", "exec", "--", "journalctl -u labctl-mirror --no-pager -o cat | grep -c 'library/redis/manifests/latest 200' || true")
		if !regexp.MustCompile(`(?m)^\[01/node[23]\] [1-9]`).MatchString(r.stdout) {
			t.Errorf("no worker's mirror served redis:latest:\n%s", r.stdout)
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
		if r.code != 0 || strings.Count(r.stdout, "mirror-back") != 3 || strings.Count(r.stdout, "enabled") != 3 {
			t.Fatalf("(exit %d):\n%s", r.code, r.stdout)
		}
	})
}
