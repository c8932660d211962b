package e2e

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/lab"
)

// Stand-ins for images the deck pulls from Docker Hub, which this machine
// cannot reach: rng answers GET / like httpenv and nginx do, and the
// kube-proxy image (Debian minbase) has the bash that curl-less probes need.
const (
	webImage  = "dockercoins/rng:v0.1"
	toolImage = "registry.k8s.io/kube-proxy:v1.34.4"
)

// asAttendee runs script as the attendee on cluster 1's node1 and returns
// its output without the [01/node1] prefixes.
func asAttendee(t *testing.T, l *testLab, timeout, script string) (string, int) {
	t.Helper()
	r := labctl(t, l, "", "exec", "--cluster", "1", "--node", "node1", "--timeout", timeout, "--",
		"su - k8s -c "+shellQuote("set -u\n"+script))
	out := strings.ReplaceAll(r.stdout, "[01/node1] ", "")
	return out, r.code
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestCourse replays the deck's chapters as the attendee on a 1 x 3 lab
// with the defaults: what "cluster 01: ok" must mean; then adds the
// add-ons and replays their chapters on the same lab.
func TestCourse(t *testing.T) {
	needE2E(t)
	l := newLab(t, "e2e-course", "nodesPerCluster: 3\n")
	up := labctl(t, l, "", "up")
	if up.code != 0 {
		t.Fatalf("up failed (exit %d): %s", up.code, up.stderr)
	}

	t.Run("up proved the cluster healthy, and status shows it", func(t *testing.T) {
		r := labctl(t, l, "", "status")
		if r.code != 0 || !regexp.MustCompile(`(?m)^01\s+3/3\s+3/3\s+ok\s`).MatchString(r.stdout) {
			t.Fatalf("status: %s", r.stdout)
		}
	})

	t.Run("web terminal: the card's URL, a browser, a shell that survives a reload", func(t *testing.T) {
		webtermChapter(t, l)
		webtermPortTaken(t, l)
	})

	t.Run("Services: a ClusterIP answers from node1 with its pods elsewhere", func(t *testing.T) {
		out, code := asAttendee(t, l, "3m", `
kubectl create deployment httpenv --image=`+webImage+` --replicas=3
kubectl rollout status deployment httpenv --timeout=120s
kubectl expose deployment httpenv --port 8888 --target-port 80
IP=$(kubectl get svc httpenv -o go-template --template '{{ .spec.clusterIP }}')
# kube-proxy programs a new Service within a second or two; an attendee
# typing the next command takes longer than that. -f: until then, a
# transparent proxy on some networks answers any address with an empty 404.
for i in $(seq 20); do curl -fs -m 2 http://$IP:8888/ >/dev/null && break; sleep 0.5; done
for i in 1 2 3 4 5 6; do curl -fsS -m 3 http://$IP:8888/; done
kubectl get endpoints httpenv -o jsonpath='endpoints={range .subsets[*].addresses[*]}{.ip} {end}'; echo
kubectl get pods -l app=httpenv -o jsonpath='nodes={range .items[*]}{.spec.nodeName} {end}'; echo
kubectl delete deployment,service httpenv --wait=false`)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if n := strings.Count(out, "RNG running on httpenv-"); n != 6 {
			t.Errorf("%d of 6 requests to the ClusterIP answered:\n%s", n, out)
		}
		if !regexp.MustCompile(`endpoints=(\S+ ){3}\n`).MatchString(out) {
			t.Errorf("want 3 endpoints:\n%s", out)
		}
		if nodes := regexp.MustCompile(`nodes=.*`).FindString(out); strings.Contains(nodes, "node1") || nodes == "" {
			t.Errorf("pods on %q: node1 must keep its taint", nodes)
		}
	})

	t.Run("NetworkPolicy: deny all for testweb, then allow from run=testcurl", func(t *testing.T) {
		probe := func(name string) string {
			return `kubectl run ` + name + ` --rm -i --restart=Never --image=` + toolImage + ` --command -- ` +
				`bash -c "timeout 3 bash -c \"</dev/tcp/$IP/80\" && echo ` + name + `=open || echo ` + name + `=closed" 2>/dev/null | grep -o "` + name + `=[a-z]*"`
		}
		out, code := asAttendee(t, l, "5m", `
kubectl run testweb --image=`+webImage+`
kubectl wait --for=condition=Ready pod/testweb --timeout=120s
IP=$(kubectl get pods -l run=testweb -o json | jq -r .items[0].status.podIP)
curl -sS -m 3 $IP >/dev/null && echo before=open || echo before=closed
cat <<POLICY | kubectl apply -f -
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata:
  name: deny-all-for-testweb
spec:
  podSelector:
    matchLabels:
      run: testweb
  ingress: []
POLICY
sleep 3
curl -sS -m 3 $IP >/dev/null 2>&1 && echo denied=open || echo denied=closed
cat <<POLICY | kubectl apply -f -
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata:
  name: allow-testcurl-for-testweb
spec:
  podSelector:
    matchLabels:
      run: testweb
  ingress:
  - from:
    - podSelector:
        matchLabels:
          run: testcurl
POLICY
sleep 3
`+probe("testcurl")+`
`+probe("testkurl")+`
kubectl delete networkpolicies --all
sleep 3
curl -sS -m 3 $IP >/dev/null && echo after=open || echo after=closed
kubectl delete pod testweb --wait=false`)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		for _, want := range []string{"before=open", "denied=closed", "testcurl=open", "testkurl=closed", "after=open"} {
			if !strings.Contains(out, want) {
				t.Errorf("want %s:\n%s", want, out)
			}
		}
	})

	t.Run("DockerCoins on Kubernetes: the worker mines after expose", func(t *testing.T) {
		// The deck's very first step: redis:latest, pull policy Always,
		// answered offline by the node-local mirror.
		out, code := asAttendee(t, l, "5m", `
kubectl create deployment redis --image=redis
kubectl get deployment redis -o jsonpath='policy={.spec.template.spec.containers[0].imagePullPolicy}'; echo
for SERVICE in hasher rng webui worker; do
  kubectl create deployment $SERVICE --image=dockercoins/$SERVICE:v0.1
done
kubectl expose deployment redis --port 6379
kubectl expose deployment rng --port 80
kubectl expose deployment hasher --port 80
kubectl rollout status deployment worker --timeout=120s
h=0
for i in $(seq 60); do
  h=$(kubectl exec deploy/redis -- redis-cli get hashes 2>/dev/null || echo 0)
  [ "${h:-0}" -gt 0 ] 2>/dev/null && break
  sleep 2
done
echo hashes=$h
kubectl delete deployment redis hasher rng webui worker --wait=false
kubectl delete service redis rng hasher`)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		if !strings.Contains(out, "policy=Always") {
			t.Errorf("redis:latest is not pulled with policy Always:\n%s", out)
		}
		m := regexp.MustCompile(`hashes=(\d+)`).FindStringSubmatch(out)
		if m == nil || m[1] == "0" {
			t.Errorf("the worker did not mine:\n%s", out)
		}
	})

	t.Run("etcdctl and etcdutl in the etcd pod: a snapshot with kubeadm's certificates", func(t *testing.T) {
		etcdctlChecks(t, l)
	})

	mirrorChecks(t, l, up)

	t.Run("the pod network survives Docker and node restarts, and the checks notice breakage", func(t *testing.T) {
		// Break node2's forwarding as Docker does: the checks must say so,
		// naming a node. Docker's restart brings labctl's rules back.
		if r := labctl(t, l, "", "exec", "--cluster", "1", "--node", "node2", "--",
			"iptables -D FORWARD -s 10.244.0.0/16 -j ACCEPT && iptables -D FORWARD -d 10.244.0.0/16 -j ACCEPT && iptables -P FORWARD DROP"); r.code != 0 {
			t.Fatal("could not break node2's forwarding")
		}
		var r result
		for i := 0; i < 10; i++ {
			r = labctl(t, l, "", "status")
			if strings.Contains(r.stdout, "failed") {
				break
			}
			time.Sleep(2 * time.Second)
		}
		if !regexp.MustCompile(`(?m)^01\s+3/3\s+3/3\s+\d+ failed\s.*node[0-9]: (clusterip|pod-to-pod|dns|api-clusterip|kube-system)`).MatchString(r.stdout) {
			t.Errorf("status did not report the broken node:\n%s", r.stdout)
		}
		labctl(t, l, "", "exec", "--cluster", "1", "--node", "node2", "--", "systemctl restart docker")
		waitHealthy(t, l, "after Docker restarted on node2")

		podman(t, "restart", "-t", "0", containerName(l, 1, "node2"))
		waitHealthy(t, l, "after node2 restarted, without labctl up")
	})

	t.Run("a second up is a cheap no-op that re-proves health", func(t *testing.T) {
		// node2's restart gave its probe pod a new address: the first up
		// after it checks afresh (one more command per node) and records
		// the new commands; the next asks them in its probe round.
		if r := labctl(t, l, "", "up"); r.code != 0 {
			t.Fatalf("up after the restart: exit %d", r.code)
		}
		before := commandsPerHost(t, l)
		r := labctl(t, l, "", "up")
		if r.code != 0 || !strings.Contains(r.stdout, "cluster 01: healthy") || !strings.Contains(r.stdout, "add-ons unchanged") {
			t.Fatalf("re-run: exit %d\n%s", r.code, r.stdout)
		}
		if strings.Contains(r.stdout, "serving them as docker.io") || strings.Contains(r.stdout, "restarted labctl-mirror") {
			t.Errorf("the re-run touched the mirror:\n%s", r.stdout)
		}
		after := commandsPerHost(t, l)
		for host, n := range after {
			if n-before[host] != 1 {
				t.Errorf("%s: the re-run sent %d commands, want 1 (the probe round)", host, n-before[host])
			}
		}
		st, err := lab.ReadState(l.state)
		if err != nil || len(st.Cluster(1).HealthProbes) != 3 {
			t.Errorf("state keeps no health probes: %v", err)
		}
	})

	t.Run("coins.enabled: labctl deploys DockerCoins through the API server and leaves a mining stack alone", func(t *testing.T) {
		// Last: it changes the lab file. The deploy is server-side apply,
		// the rollout wait and the counter (webui's /json through the API
		// server's service proxy) all through client-go: node1 runs no
		// kubectl for it.
		f, err := os.OpenFile(l.file, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString("coins: {enabled: true}\n")
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		before := commandsPerHost(t, l)
		r := labctl(t, l, "", "up", "--only", "coins")
		if r.code != 0 || !strings.Contains(r.stdout, "01/node1: DockerCoins deployed in namespace dockercoins and mining") {
			t.Fatalf("up --only coins: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		if cmds := commandsSince(t, l, before)["01-node1.log"]; slices.ContainsFunc(cmds, func(c string) bool { return strings.Contains(c, "kubectl") }) {
			t.Errorf("node1 ran kubectl for the deploy: %q", cmds)
		}
		out, code := asAttendee(t, l, "1m", `
kubectl -n dockercoins get deploy worker -o jsonpath='managers={.metadata.managedFields[*].manager}{"\n"}'
kubectl -n dockercoins exec deploy/redis -- redis-cli get hashes | sed 's/^/hashes=/'
`)
		if code != 0 || !strings.Contains(out, "managers=labctl") {
			t.Errorf("the stack is not labctl's (server-side apply, field manager labctl):\n%s", out)
		}
		if m := regexp.MustCompile(`hashes=(\d+)`).FindStringSubmatch(out); m == nil || m[1] == "0" {
			t.Errorf("Redis counts no hashes:\n%s", out)
		}
		r = labctl(t, l, "", "up", "--only", "coins")
		if r.code != 0 || !strings.Contains(r.stdout, "DockerCoins already mining in namespace dockercoins") {
			t.Errorf("second up --only coins: exit %d\n%s", r.code, r.stdout)
		}
	})

	// Last: the add-ons' chapters, on this lab with DockerCoins mining.
	addonChapters(t, l)
}

// waitHealthy polls status until cluster 1 passes the checks (2 minutes).
func waitHealthy(t *testing.T, l *testLab, when string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := labctl(t, l, "", "status")
		if regexp.MustCompile(`(?m)^01\s+3/3\s+3/3\s+ok\s`).MatchString(r.stdout) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not healthy after 2 minutes:\n%s", when, r.stdout)
		}
		time.Sleep(5 * time.Second)
	}
}
