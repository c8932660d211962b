package e2e

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/coins/images"
)

// messScript is what an attendee leaves behind on cluster 1, the way the
// course does it: run as the attendee on node1.
func messScript(rng string) string {
	return `
kubectl create namespace messy
kubectl -n messy create deployment web --image=` + webImage + ` --replicas=2
kubectl -n messy expose deployment web --port 80
kubectl create deployment stray --image=` + webImage + `
cd /tmp && helm create demo >/dev/null && helm install demo ./demo -n messy >/dev/null && echo helm=installed
kubectl apply -f - <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: everywhere, namespace: messy}
spec:
  selector: {matchLabels: {app: everywhere}}
  template:
    metadata: {labels: {app: everywhere}}
    spec:
      containers: [{name: c, image: ` + webImage + `}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: default}
spec: {podSelector: {}, ingress: []}
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: attendee-pv}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: manual
  hostPath: {path: /tmp/pvdata}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: messy}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  resources: {requests: {storage: 1Gi}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: attendee-role}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: held, namespace: default, finalizers: [example.com/hold]}
data: {a: b}
YAML
kubectl wait --for condition=established crd/widgets.example.com --timeout=60s
kubectl apply -f - <<'YAML'
apiVersion: example.com/v1
kind: Widget
metadata: {name: held, namespace: messy, finalizers: [example.com/hold]}
YAML
kubectl cordon node2
kubectl taint node node2 lab=messy:NoSchedule
kubectl label node node2 color=blue
kubectl -n kube-system scale deployment coredns --replicas=0
kubectl -n kube-system delete daemonset kube-proxy
kubectl -n dockercoins scale deployment worker --replicas=0
kubectl -n dockercoins set env deployment/webui EDITED=yes
kubectl config set-context --current --namespace=messy
echo notes > ~/notes.txt && mkdir -p ~/project && echo x > ~/project/main.go
echo x > /tmp/attendee-file
ssh -o BatchMode=yes node2 'echo x > /tmp/attendee-file; mkdir -p /tmp/pvdata; echo data > /tmp/pvdata/f; docker load -i /tmp/rng.tar >/dev/null && docker run -d --name stray ` + rng + ` >/dev/null && echo docker=running'
setsid nohup sleep 12345 >/dev/null 2>&1 < /dev/null &
echo mess=done`
}

// passwords are the cards' passwords by cluster.
func passwords(t *testing.T, l *testLab) map[int]string {
	t.Helper()
	r := labctl(t, l, "", "cards", "--format", "json", "--show-secrets", "-o", "-")
	var deck struct {
		Clusters []struct {
			Cluster  int    `json:"cluster"`
			Password string `json:"password"`
		} `json:"clusters"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &deck); err != nil {
		t.Fatalf("cards: %v\n%s", err, r.stdout)
	}
	out := map[int]string{}
	for _, c := range deck.Clusters {
		out[c.Cluster] = c.Password
	}
	return out
}

// clusterVersions are cluster 2's objects with their resource versions,
// and its nodes' spec: what any write to cluster 2 would change.
func clusterVersions(t *testing.T, l *testLab) string {
	t.Helper()
	r := labctl(t, l, "", "exec", "--cluster", "2", "--node", "node1", "--", "kubectl --kubeconfig /etc/kubernetes/admin.conf get "+
		"namespaces,deployments,daemonsets,services,configmaps,clusterroles,clusterrolebindings,crds,pv -A "+
		`-o jsonpath='{range .items[*]}{.kind} {.metadata.namespace}/{.metadata.name} {.metadata.resourceVersion}{"\n"}{end}'; `+
		"kubectl --kubeconfig /etc/kubernetes/admin.conf get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.spec}{\"\\n\"}{end}'")
	// Only the command's own lines: labctl exec's summary has timings.
	var lines []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "[02/node1] ") {
			lines = append(lines, line)
		}
	}
	if r.code != 0 || len(lines) < 20 {
		t.Fatalf("cluster 2's objects: exit %d: %s", r.code, r.stdout)
	}
	return strings.Join(lines, "\n")
}

// TestReset messes up cluster 1 of a 2 × 2 lab as an attendee would, and
// checks that `labctl reset --cluster 1` puts it back to its baseline and
// leaves cluster 2 alone.
func TestReset(t *testing.T) {
	needE2E(t)
	l := newLab(t, "e2e-reset", "attendees: 2\nnodesPerCluster: 2\ncoins: {enabled: true}\n")
	if r := labctl(t, l, "", "up"); r.code != 0 {
		t.Fatalf("up failed (exit %d): %s", r.code, r.stderr)
	} else if !strings.Contains(r.stdout, "cluster 01: baseline recorded") || !strings.Contains(r.stdout, "cluster 02: baseline recorded") {
		t.Fatalf("up did not record the baselines:\n%s", r.stdout)
	}
	if r := labctl(t, l, "", "reset", "--cluster", "1", "--dry-run"); r.code != 0 || !strings.Contains(r.stdout, "cluster 01: API objects and nodes are at the baseline") {
		t.Fatalf("a fresh cluster must be at its baseline: exit %d\n%s", r.code, r.stdout)
	}

	var rng string
	for _, tg := range images.Targets {
		if tg.Service == "rng" && tg.Tag == "v0.1" {
			rng = tg.FullRef()
		}
	}
	node1, node2 := containerName(l, 1, "node1"), containerName(l, 1, "node2")
	dockerImages, err := podmanExec(node2, "docker image ls -q --no-trunc | sort | sha256sum")
	if err != nil {
		t.Fatalf("docker images on node2: %v: %s", err, dockerImages)
	}
	dockerImages = strings.TrimSpace(dockerImages)
	if out, err := podmanExec(node2, "ctr -n k8s.io images export /tmp/rng.tar "+rng+" && chmod 0644 /tmp/rng.tar && ctr -n k8s.io images tag "+rng+" docker.io/attendee/copy:v1"); err != nil {
		t.Fatalf("preparing the docker image: %v: %s", err, out)
	}
	out, code := asAttendee(t, l, "4m", messScript(rng))
	if code != 0 || !strings.Contains(out, "mess=done") || !strings.Contains(out, "docker=running") || !strings.Contains(out, "helm=installed") {
		t.Fatalf("messing up cluster 1: exit %d\n%s", code, out)
	}
	hostileMess(t, l)
	// The dry run lists the attendee's objects and the restores.
	dry := labctl(t, l, "", "reset", "--cluster", "1", "--dry-run")
	for _, want := range append(hostileDryRun, "delete Namespace/messy", "delete CustomResourceDefinition/widgets.example.com", "delete ClusterRole/attendee-role",
		"delete PersistentVolume/attendee-pv", "delete Deployment default/stray", "re-create DaemonSet kube-system/kube-proxy",
		"restore Deployment kube-system/coredns", "restore Deployment dockercoins/worker", "node node2 back") {
		if !strings.Contains(dry.stdout, want) {
			t.Errorf("the dry run does not say %q", want)
		}
	}

	before2 := clusterVersions(t, l)
	cmdsBefore := commandsPerHost(t, l)
	start := time.Now()
	r := labctl(t, l, "", "reset", "--cluster", "1", "--yes", "--grace", "10s")
	took := time.Since(start)
	if r.code != 0 {
		t.Fatalf("reset failed (exit %d): %s", r.code, r.stderr)
	}
	t.Logf("soft reset of cluster 1 took %s", took.Round(time.Second))
	cmdsAfter := commandsPerHost(t, l)

	t.Run("the reset forced the finalizers it had to, said so, and passed the health gate", func(t *testing.T) {
		if !regexp.MustCompile(`(?m)ConfigMap default/held still there after 10s: removed 1 finalizers`).MatchString(r.stdout) {
			t.Error("the finalizer-blocked ConfigMap is not reported as forced")
		}
		if !regexp.MustCompile(`(?m)(CustomResourceDefinition/widgets.example.com|Namespace/messy) still there after 10s: removed [1-9][0-9]* finalizers of what it held`).MatchString(r.stdout) {
			t.Error("the finalizer-blocked Widget (held by its CRD or namespace) is not reported as forced")
		}
		if !strings.Contains(r.stdout, "cluster 01: reset to its baseline in") || !strings.Contains(r.stdout, "health ok") {
			t.Error("no health-ok report line for cluster 01")
		}
		if strings.Contains(r.stdout, "cluster 02") {
			t.Error("the report names cluster 02")
		}
	})

	t.Run("the hostile attendee's objects, static Pod and broken APIService are gone", func(t *testing.T) { hostileGone(t, l) })

	t.Run("cluster 1's API objects and nodes are back", func(t *testing.T) {
		out, code := asAttendee(t, l, "3m", `
for o in ns/messy crd/widgets.example.com clusterrole/attendee-role pv/attendee-pv deploy/stray networkpolicy/deny-all cm/held; do
  kubectl get $o -n default >/dev/null 2>&1 && echo "still=$o"
done
echo helm=$(helm list -A -q | wc -l)
kubectl -n kube-system rollout status deploy/coredns --timeout=60s >/dev/null && echo coredns=$(kubectl -n kube-system get deploy coredns -o jsonpath='{.status.readyReplicas}')
kubectl -n kube-system rollout status ds/kube-proxy --timeout=60s >/dev/null && echo kubeproxy=$(kubectl -n kube-system get ds kube-proxy -o jsonpath='{.status.numberReady}')
echo worker=$(kubectl -n dockercoins get deploy worker -o jsonpath='{.spec.replicas}')
echo webui-env=$(kubectl -n dockercoins get deploy webui -o jsonpath='{.spec.template.spec.containers[0].env}')
echo node2=$(kubectl get node node2 -o jsonpath='{.spec.unschedulable}/{.spec.taints}/{.metadata.labels.color}')
echo ns=$(kubectl config view --minify -o jsonpath='{.contexts[0].context.namespace}')
kubectl get nodes --no-headers | awk '{print "node " $1 " " $2}'`)
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		for _, bad := range []string{"still=", "color", "lab=messy", "EDITED"} {
			if strings.Contains(out, bad) {
				t.Errorf("after the reset, %q:\n%s", bad, out)
			}
		}
		for _, want := range []string{"helm=0", "coredns=2", "kubeproxy=2", "worker=1", "node2=/", "ns=\n", "node node1 Ready", "node node2 Ready"} {
			if !strings.Contains(out, want) {
				t.Errorf("after the reset, want %q:\n%s", want, out)
			}
		}
	})

	t.Run("DockerCoins mines again", func(t *testing.T) {
		out, code := asAttendee(t, l, "2m", `
for i in $(seq 40); do
  n=$(kubectl -n dockercoins logs deploy/worker --since=20s 2>/dev/null | grep -c "units of work done\|Coin found" || true)
  [ "$n" -gt 0 ] && { echo mining=yes; break; }
  sleep 3
done`)
		if code != 0 || !strings.Contains(out, "mining=yes") {
			t.Errorf("the worker does not mine after the reset: exit %d\n%s", code, out)
		}
	})

	t.Run("cluster 1's nodes are back: home, processes, Docker, images, /tmp", func(t *testing.T) {
		for _, c := range []struct{ node, cmd, want string }{
			{node1, "ls ~k8s/notes.txt ~k8s/project /tmp/attendee-file /tmp/demo 2>&1 | grep -c 'No such file'", "4"},
			{node1, "pgrep -u k8s -c -f 'sleep 12345' || true", "0"},
			{node1, "test -s ~k8s/.kube/config && test -s ~k8s/.ssh/id_ed25519 && grep -c 'BEGIN labctl' ~k8s/.bashrc", "1"},
			{node2, "ls /tmp/attendee-file /tmp/pvdata 2>&1 | grep -c 'No such file'", "2"},
			{node2, "docker ps -aq | wc -l; docker image ls -q --no-trunc | sort | sha256sum", "0\n" + dockerImages},
			{node2, "ctr -n k8s.io images ls -q | grep -c attendee/copy || true", "0"},
		} {
			out, err := podmanExec(c.node, c.cmd)
			if strings.TrimSpace(out) != c.want {
				t.Errorf("%s: %q: %v: got %q, want %q", c.node, c.cmd, err, strings.TrimSpace(out), c.want)
			}
		}
		// The slide-level check: the attendee's kubeconfig still works.
		out, code := asAttendee(t, l, "1m", "kubectl get nodes >/dev/null && echo kubeconfig=ok; ssh -o BatchMode=yes node2 hostname")
		if code != 0 || !strings.Contains(out, "kubeconfig=ok") || !strings.Contains(out, "node2") {
			t.Errorf("as the attendee after the reset: exit %d\n%s", code, out)
		}
	})

	t.Run("the cluster is at its baseline, as a dry run sees it", func(t *testing.T) {
		r := labctl(t, l, "", "reset", "--cluster", "1", "--dry-run")
		if r.code != 0 || !strings.Contains(r.stdout, "cluster 01: API objects and nodes are at the baseline") {
			t.Errorf("exit %d\n%s", r.code, r.stdout)
		}
	})

	t.Run("a login turned into a system account is refused on the node, nothing changed", func(t *testing.T) { systemLoginRefused(t, l) })

	t.Run("cluster 2 was not touched", func(t *testing.T) {
		for host, n := range cmdsAfter {
			if strings.HasPrefix(host, "02-") || strings.HasPrefix(host, "02_") || strings.Contains(host, "02/") {
				if n != cmdsBefore[host] {
					t.Errorf("the reset sent %d commands to %s", n-cmdsBefore[host], host)
				}
			}
		}
		if after2 := clusterVersions(t, l); after2 != before2 {
			t.Errorf("cluster 2's objects changed:\nbefore:\n%s\nafter:\n%s", before2, after2)
		}
	})

	t.Run("a hard reset with new passwords rebuilds cluster 1 with a new CA; the attendee's new kubeconfig, password and key work", func(t *testing.T) {
		oldCA, _ := podmanExec(node1, "sha256sum < /etc/kubernetes/pki/ca.crt")
		oldKey, _ := podmanExec(node1, "cat ~k8s/.ssh/id_ed25519.pub")
		before := passwords(t, l)
		start := time.Now()
		r := labctl(t, l, "", "reset", "--cluster", "1", "--level", "hard", "--new-passwords", "--yes")
		if r.code != 0 {
			t.Fatalf("hard reset failed (exit %d): %s", r.code, r.stderr)
		}
		t.Logf("hard reset of cluster 1 took %s", time.Since(start).Round(time.Second))
		if !strings.Contains(r.stdout, "cluster 01: ok") || strings.Contains(r.stdout, "cluster 02") {
			t.Errorf("the rebuild's report must name cluster 01 (ok) and only it:\n%s", r.stdout)
		}
		newCA, _ := podmanExec(node1, "sha256sum < /etc/kubernetes/pki/ca.crt")
		if oldCA == newCA || newCA == "" {
			t.Errorf("the CA did not change: %q", newCA)
		}
		out, code := asAttendee(t, l, "2m", "kubectl get nodes --no-headers | awk '{print \"node \" $1 \" \" $2}'; kubectl -n dockercoins get deploy worker -o jsonpath='worker={.status.readyReplicas}'")
		if code != 0 || !strings.Contains(out, "node node1 Ready") || !strings.Contains(out, "node node2 Ready") || !strings.Contains(out, "worker=1") {
			t.Errorf("as the attendee after the hard reset: exit %d\n%s", code, out)
		}
		after := passwords(t, l)
		if after[1] == before[1] || after[2] != before[2] || after[1] == "" {
			t.Errorf("cards' passwords: cluster 1 must change, cluster 2 must not (changed: %v, %v)", after[1] != before[1], after[2] != before[2])
		}
		for _, node := range []string{node1, node2} {
			out, err := podmanExec(node, `perl -e 'print crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? "match" : "nomatch"' `+shellQuote(after[1])+` "$(getent shadow k8s | cut -d: -f2)"`)
			if err != nil || out != "match" {
				t.Errorf("%s: the new password is not the login's: %v %s", node, err, out)
			}
		}
		if newKey, _ := podmanExec(node1, "cat ~k8s/.ssh/id_ed25519.pub"); newKey == oldKey || newKey == "" {
			t.Error("the intra-cluster key did not change")
		}
		attendeeSSH(t, node1, "node2")
	})

	t.Run("with one node down, the other cluster resets and the failed one is named with its step; a killed reset is finished by a re-run", func(t *testing.T) {
		c2node1, c2node2 := containerName(l, 2, "node1"), containerName(l, 2, "node2")
		if out, err := podmanExec(c2node1, "su - k8s -c 'kubectl create namespace late'"); err != nil {
			t.Fatalf("kubectl create namespace late on cluster 2: %v %s", err, out)
		}
		if out, err := podmanExec(c2node2, "systemctl stop ssh"); err != nil {
			t.Fatalf("stopping sshd on %s: %v %s", c2node2, err, out)
		}
		r := labctl(t, l, "", "reset", "--yes")
		if out, err := podmanExec(c2node2, "systemctl start ssh"); err != nil {
			t.Fatalf("starting sshd on %s: %v %s", c2node2, err, out)
		}
		if r.code == 0 {
			t.Fatal("the reset must fail while a node of cluster 2 is down")
		}
		if !strings.Contains(r.stdout, "cluster 01: reset to its baseline in") {
			t.Errorf("cluster 1 must finish its reset:\n%s", r.stdout)
		}
		if !regexp.MustCompile(`cluster 02: FAILED at node cleanup: .*node2`).MatchString(r.stdout) {
			t.Errorf("the report must name cluster 2, the step and node2:\n%s", r.stdout)
		}
		if !strings.Contains(r.stderr, "cluster 02 (node cleanup) (a re-run finishes it)") {
			t.Errorf("the error line must name cluster 2 and its step: %s", r.stderr)
		}

		killed := labctlWhen(t, l, "cluster 02:", func(p *os.Process) { p.Kill() }, "reset", "--cluster", "2", "--yes")
		if killed.code == 0 {
			t.Fatal("the killed reset exited 0")
		}
		// The re-run also rotates cluster 2's passwords: a soft reset with
		// --new-passwords.
		before := passwords(t, l)
		again := labctl(t, l, "", "reset", "--cluster", "2", "--new-passwords", "--yes")
		if again.code != 0 || !strings.Contains(again.stdout, "cluster 02: reset to its baseline in") {
			t.Fatalf("the re-run after the kill did not finish the reset (exit %d)", again.code)
		}
		after := passwords(t, l)
		if after[2] == before[2] || after[2] == "" || after[1] != before[1] {
			t.Errorf("cards' passwords: cluster 2 must change, cluster 1 must not (changed: %v, %v)", after[2] != before[2], after[1] != before[1])
		}
		for _, node := range []string{c2node1, c2node2} {
			out, err := podmanExec(node, `perl -e 'print crypt($ARGV[0], $ARGV[1]) eq $ARGV[1] ? "match" : "nomatch"' `+shellQuote(after[2])+` "$(getent shadow k8s | cut -d: -f2)"`)
			if err != nil || out != "match" {
				t.Errorf("%s: the new password is not the login's: %v %s", node, err, out)
			}
		}
		attendeeSSH(t, c2node1, "node2")
		if out, _ := podmanExec(c2node1, "su - k8s -c 'kubectl get namespace late' 2>&1"); !strings.Contains(out, "NotFound") {
			t.Errorf("cluster 2's namespace late is still there: %s", out)
		}
		if dry := labctl(t, l, "", "reset", "--dry-run"); !strings.Contains(dry.stdout, "cluster 01: API objects and nodes are at the baseline") ||
			!strings.Contains(dry.stdout, "cluster 02: API objects and nodes are at the baseline") {
			t.Errorf("after the re-run, a dry run must find both clusters at their baseline:\n%s", dry.stdout)
		}
	})
	// A stop and start overnight (multiday_test.go).
	multiDay(t, l)
	// Last: the course checks and the instructor's board (board_test.go).
	t.Run("course checks and the board: attendee 1 ahead, attendee 2 catching up, cluster 2 cut off", func(t *testing.T) {
		boardCourse(t, l)
	})
	if os.Getenv("LABCTL_E2E_KEEP") != "" {
		t.Logf("lab kept: %s", l.state)
	}
}
