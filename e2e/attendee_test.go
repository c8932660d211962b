package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/labctl/labctl/coins/images"
)

// checkTools runs the attendee tools as the attendee on every node1.
func checkTools(t *testing.T, l *testLab) {
	r := labctl(t, l, "", "exec", "--node", "node1", "--",
		"su - k8s -c 'helm version --short && stern --version | head -1 && kx -c && kns -c && helm list -A | head -1'")
	if r.code != 0 {
		t.Fatalf("tools failed: %s", r.stdout)
	}
	for _, c := range []string{"01", "02"} {
		for _, want := range []string{"v3.22.0", "version: 1.34.0", "kubernetes-admin@kubernetes", "default", "NAME\tNAMESPACE"} {
			if !strings.Contains(r.stdout, "["+c+"/node1] "+want) {
				t.Errorf("cluster %s: no %q in:\n%s", c, want, r.stdout)
			}
		}
	}
}

// composeScript runs DockerCoins with docker-compose on a node, as the
// course's first chapters do, from the images labctl preloaded into the
// node's containerd, and prints the hash count webui reports.
func composeScript() string {
	ref := map[string]string{}
	var refs []string
	for _, tg := range images.Targets {
		if tg.Tag == "v0.1" {
			ref[tg.Service] = tg.Ref()
			refs = append(refs, tg.FullRef())
		}
	}
	refs = append(refs, images.RedisRef)
	redis := strings.TrimPrefix(images.RedisRef, "docker.io/library/")
	compose := fmt.Sprintf(`version: "2"
services:
  rng: {image: %q, ports: ["8001:80"]}
  hasher: {image: %q, ports: ["8002:80"]}
  webui: {image: %q, ports: ["8000:80"]}
  redis: {image: %q}
  worker: {image: %q}
`, ref["rng"], ref["hasher"], ref["webui"], redis, ref["worker"])
	return `set -e
ctr -n k8s.io images export --platform linux/$(dpkg --print-architecture) /tmp/coins.tar ` + strings.Join(refs, " ") + `
chmod 0644 /tmp/coins.tar
su - k8s -c 'set -e
docker load -i /tmp/coins.tar >/dev/null
mkdir -p ~/compose-check && cd ~/compose-check
cat > docker-compose.yml <<COMPOSE
` + compose + `COMPOSE
docker-compose up -d 2>&1 | tail -1
h=0
for i in $(seq 60); do
  h=$(curl -fs localhost:8000/json | jq -r ".hashes // 0") || h=0
  [ "$h" -gt 0 ] && break
  sleep 1
done
echo compose-hashes=$h
docker-compose down >/dev/null 2>&1
docker rmi $(docker images -q) >/dev/null
cd && rm -rf ~/compose-check'
rm -f /tmp/coins.tar
`
}

// checkCompose proves Docker Engine and docker-compose work for the
// attendee on cluster 1's node1: DockerCoins mines under Compose.
func checkCompose(t *testing.T, l *testLab) {
	r := labctl(t, l, "", "exec", "--cluster", "1", "--node", "node1", "--timeout", "4m", "--", composeScript())
	m := regexp.MustCompile(`compose-hashes=(\d+)`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("docker-compose DockerCoins failed (exit %d): %s", r.code, r.stdout)
	}
	if n, _ := strconv.Atoi(m[1]); n == 0 {
		t.Fatalf("DockerCoins under Compose mined nothing in 60s: %s", r.stdout)
	}
	t.Logf("DockerCoins under docker-compose: %s hashes", m[1])
}
