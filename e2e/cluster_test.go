package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/labctl/labctl/lab"
)

// TestClusters builds 2 attendee clusters of 2 nodes with real kubeadm on
// local nodes, from the offline artifact cache, and checks them the way an
// attendee would; then re-runs up (nothing to do) and breaks one node.
func TestClusters(t *testing.T) {
	needE2E(t)
	l := newLab(t, "e2e-k8s", "attendees: 2\nnodesPerCluster: 2\nkubernetes: {version: \"1.34.4\", cni: bridge, source: cache}\n")

	start := time.Now()
	up := labctl(t, l, "", "up")
	t.Logf("first up took %s", time.Since(start).Round(time.Second))
	if up.code != 0 {
		t.Fatalf("up failed (exit %d): %s", up.code, up.stderr)
	}
	st, err := lab.ReadState(l.state)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("kubectl as the attendee shows every node Ready", func(t *testing.T) {
		r := labctl(t, l, "", "exec", "--node", "node1", "--", "su - k8s -c 'kubectl get nodes --no-headers'")
		if r.code != 0 {
			t.Fatal("kubectl failed")
		}
		for _, c := range []string{"01", "02"} {
			for _, n := range []string{"node1", "node2"} {
				if !regexp.MustCompile(`\[` + c + `/node1\] ` + n + `\s+Ready\s`).MatchString(r.stdout) {
					t.Errorf("cluster %s: %s not Ready", c, n)
				}
			}
		}
		ctx := labctl(t, l, "", "exec", "--cluster", "1", "--node", "node1", "--", "su - k8s -c 'kubectl config current-context'")
		if !strings.Contains(ctx.stdout, "kubernetes-admin@kubernetes") {
			t.Error("the attendee's kubeconfig does not use kubeadm's default names")
		}
		taint := labctl(t, l, "", "exec", "--cluster", "1", "--node", "node1", "--", "su - k8s -c 'kubectl get node node1 -o jsonpath={.spec.taints}'")
		if !strings.Contains(taint.stdout, "node-role.kubernetes.io/control-plane") {
			t.Error("node1 lost its control-plane taint")
		}
	})

	t.Run("a pod on node2 reaches a pod on node1", func(t *testing.T) {
		script := podToPodScript()
		r := labctl(t, l, "", "exec", "--node", "node1", "--timeout", "4m", "--", script)
		if r.code != 0 {
			t.Fatalf("pod-to-pod check failed")
		}
		for _, c := range []string{"01", "02"} {
			if !strings.Contains(r.stdout, "["+c+"/node1] pod-to-pod ok") {
				t.Errorf("cluster %s: no answer from the pod on node1", c)
			}
		}
	})

	t.Run("ssh node2 from node1 as the attendee, no password", func(t *testing.T) {
		r := labctl(t, l, "", "exec", "--node", "node1", "--", "su - k8s -c 'ssh -o BatchMode=yes node2 hostname'")
		if r.code != 0 || !strings.Contains(r.stdout, "[01/node1] node2") || !strings.Contains(r.stdout, "[02/node1] node2") {
			t.Fatal("passwordless ssh between nodes failed")
		}
	})

	t.Run("portworx loop device on every node", func(t *testing.T) {
		r := labctl(t, l, "", "exec", "--", "losetup /dev/loop4")
		if r.code != 0 || strings.Count(r.stdout, "(/portworx.blk)") != 4 {
			t.Fatalf("losetup: %q", r.stdout)
		}
	})

	t.Run("helm, stern, kx and kns work for the attendee", func(t *testing.T) { checkTools(t, l) })
	t.Run("Docker and docker-compose run DockerCoins on node1", func(t *testing.T) { checkCompose(t, l) })

	t.Run("the attendee's password logs in over SSH", func(t *testing.T) {
		for _, c := range st.Clusters {
			n := c.Node("node1")
			hk, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(n.HostKey))
			cfg := &ssh.ClientConfig{User: c.Login.User, Auth: []ssh.AuthMethod{ssh.Password(c.Login.Password)},
				HostKeyCallback: pinned(n.HostKey), HostKeyAlgorithms: []string{hk.Type()}, Timeout: 10 * time.Second}
			cl, err := ssh.Dial("tcp", net.JoinHostPort(n.PublicAddress, "22"), cfg)
			if err != nil {
				t.Fatalf("cluster %d: password login: %v", c.Index, err)
			}
			sess, _ := cl.NewSession()
			out, err := sess.Output("whoami && sudo -n true && echo sudo-ok")
			cl.Close()
			if err != nil || !strings.Contains(string(out), "k8s\nsudo-ok") {
				t.Fatalf("cluster %d: %q %v", c.Index, out, err)
			}
			// Another cluster's password does not open this one.
			other := st.Clusters[len(st.Clusters)-c.Index].Login.Password
			cfg.Auth = []ssh.AuthMethod{ssh.Password(other)}
			if _, err := ssh.Dial("tcp", net.JoinHostPort(n.PublicAddress, "22"), cfg); err == nil {
				t.Fatalf("cluster %d accepts another cluster's password", c.Index)
			}
		}
	})

	t.Run("a second up changes nothing", func(t *testing.T) {
		before := commandsPerHost(t, l)
		start := time.Now()
		r := labctl(t, l, "", "up")
		took := time.Since(start)
		// One probe round answers every phase: one command per node.
		after := commandsPerHost(t, l)
		for host, n := range after {
			if n-before[host] != 1 {
				t.Errorf("%s: the re-run sent %d commands, want 1 (the probe round)", host, n-before[host])
			}
		}
		if len(after) != 4 {
			t.Errorf("host logs: %v", after)
		}
		t.Logf("idempotent re-run: %s", took.Round(10*time.Millisecond))
		if r.code != 0 {
			t.Fatal("re-run failed")
		}
		for _, want := range []string{"0 of 4 nodes need work", "cluster 01: every node joined and Ready, nothing to do", "cluster 02: every node joined and Ready, nothing to do"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("re-run output lacks %q", want)
			}
		}
		if regexp.MustCompile(`: (hostname|packages|runtime|login|kubernetes|tools|portworx) done in`).MatchString(r.stdout) {
			t.Error("the re-run repeated a step")
		}
	})

	t.Run("a rebooted cluster comes back with its addresses", func(t *testing.T) {
		// Both nodes of cluster 1 stop and start again, as when this
		// machine reboots: before any up, the attendee's ssh between the
		// nodes works; up then brings the cluster back, and the kubelets
		// find the addresses they knew.
		joinsBefore := strings.Count(hostLog(t, l, "01-node2.log"), "kubeadm join")
		for _, n := range []string{"node1", "node2"} {
			podman(t, "stop", "-t", "0", containerName(l, 1, n))
		}
		for _, n := range []string{"node1", "node2"} {
			podman(t, "start", containerName(l, 1, n))
		}
		for _, n := range []string{"node1", "node2"} {
			waitBooted(t, containerName(l, 1, n))
		}
		attendeeSSH(t, containerName(l, 1, "node1"), "node2")
		r := labctl(t, l, "", "up")
		if r.code != 0 || !strings.Contains(r.stdout, "cluster 01: ok") {
			t.Fatalf("up after the reboot: exit %d", r.code)
		}
		after, err := lab.ReadState(l.state)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"node1", "node2"} {
			if was, is := st.Cluster(1).Node(n).PrivateAddress, after.Cluster(1).Node(n).PrivateAddress; was != is {
				t.Errorf("01/%s moved from %s to %s", n, was, is)
			}
		}
		if n := strings.Count(hostLog(t, l, "01-node2.log"), "kubeadm join"); n != joinsBefore {
			t.Errorf("node2 was joined again (%d joins in its log, %d before)", n, joinsBefore)
		}
		if r := labctl(t, l, "", "exec", "--cluster", "1", "--node", "node1", "--", "su - k8s -c 'kubectl get nodes --no-headers'"); r.code != 0 || strings.Count(r.stdout, " Ready ") != 2 {
			t.Errorf("after the reboot: %s", r.stdout)
		}
	})

	t.Run("a node that dies mid-run fails only its cluster", func(t *testing.T) {
		if r := labctl(t, l, "", "exec", "--cluster", "2", "--node", "node2", "--", "kubeadm reset -f >/dev/null 2>&1 && rm -rf /etc/cni/net.d/* && echo reset"); r.code != 0 {
			t.Fatal("kubeadm reset failed")
		}
		victim := containerName(l, 2, "node2")
		// Kill node2 of cluster 2 as soon as the kubeadm phase starts.
		r := labctlWhen(t, l, "==> kubeadm", func(*os.Process) { exec.Command("podman", "kill", victim).Run() }, "up", "--only", "kubeadm")
		if r.code == 0 {
			t.Fatal("up must fail when a node dies")
		}
		if !strings.Contains(r.stdout, "cluster 01: ok") {
			t.Error("cluster 1 must be unaffected")
		}
		if !regexp.MustCompile(`cluster 02: FAILED in kubeadm at 02/node2 [a-z]`).MatchString(r.stdout) {
			t.Errorf("the report must name cluster 2, node2 and the step: %q", r.stdout)
		}
		if !strings.Contains(r.stderr, "1 of 2 clusters failed") {
			t.Errorf("stderr: %q", r.stderr)
		}
		// Back on its feet, a re-run completes it without redoing cluster 1.
		podman(t, "start", victim)
		if r := labctl(t, l, "", "up"); r.code != 0 || !strings.Contains(r.stdout, "cluster 01: every node joined and Ready, nothing to do") {
			t.Fatalf("recovery run: exit %d", r.code)
		}
	})

	t.Run("destroy gives the loop devices back", func(t *testing.T) {
		files := labLoopFiles(t, l)
		if len(files) != 4 {
			t.Fatalf("want a /portworx.blk on each of the 4 nodes, found %d", len(files))
		}
		if held := attachedLoops(t, files); len(held) != 4 {
			t.Fatalf("want 4 loop devices on the lab's /portworx.blk before destroy, found %d", len(held))
		}
		if r := labctl(t, l, "", "destroy", "--yes"); r.code != 0 {
			t.Fatal("destroy failed")
		}
		if held := attachedLoops(t, files); len(held) > 0 {
			t.Fatalf("loop devices still attached to the lab's /portworx.blk after destroy: %v", held)
		}
	})
}

// podToPodScript runs on node1: an etcd pod on node1 (tolerating the
// control-plane taint) and a client pod on node2 that fetches its /health
// over HTTP with bash's /dev/tcp.
func podToPodScript() string {
	return `set -e
export KUBECONFIG=/etc/kubernetes/admin.conf
img() { ctr -n k8s.io images ls -q | grep "^registry.k8s.io/$1:" | head -n1; }
ETCD=$(img etcd); PROXY=$(img kube-proxy)
# Attendees start with an empty default namespace: the test uses its own.
kubectl create namespace labctl-e2e --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n labctl-e2e delete pod e2e-server e2e-client --ignore-not-found --wait=true >/dev/null
cat <<YAML | kubectl -n labctl-e2e apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: e2e-server}
spec:
  nodeName: node1
  tolerations: [{operator: Exists}]
  containers:
  - name: etcd
    image: $ETCD
    imagePullPolicy: Never
    command: [etcd, --data-dir=/tmp/e, --listen-client-urls=http://0.0.0.0:2379, --advertise-client-urls=http://127.0.0.1:2379]
YAML
kubectl -n labctl-e2e wait --for=condition=Ready pod/e2e-server --timeout=120s >/dev/null
IP=$(kubectl -n labctl-e2e get pod e2e-server -o jsonpath='{.status.podIP}')
cat <<YAML | kubectl -n labctl-e2e apply -f - >/dev/null
apiVersion: v1
kind: Pod
metadata: {name: e2e-client}
spec:
  nodeName: node2
  restartPolicy: Never
  containers:
  - name: client
    image: $PROXY
    imagePullPolicy: Never
    command: [bash, -c, "exec 3<>/dev/tcp/$IP/2379 && printf 'GET /health HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3"]
YAML
for i in $(seq 1 60); do
  phase=$(kubectl -n labctl-e2e get pod e2e-client -o jsonpath='{.status.phase}')
  [ "$phase" = Succeeded ] || [ "$phase" = Failed ] && break
  sleep 2
done
out=$(kubectl -n labctl-e2e logs e2e-client)
kubectl -n labctl-e2e delete pod e2e-server e2e-client --wait=false >/dev/null
echo "$out" | grep -q '"health":"true"' && echo pod-to-pod ok || { echo "client pod: $phase: $out"; exit 1; }
`
}

func pinned(key string) ssh.HostKeyCallback {
	want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(key))
	return func(_ string, _ net.Addr, got ssh.PublicKey) error {
		if err != nil || string(want.Marshal()) != string(got.Marshal()) {
			return fmt.Errorf("host key mismatch")
		}
		return nil
	}
}

// labLoopFiles are the inode numbers of the nodes' /portworx.blk, which
// the host's `losetup -a` prints as "[device]:inode": local nodes share
// the host's loop devices, and other labs may hold some too. The device
// number is the node's overlay mount, which changes when a node restarts;
// the inode does not.
func labLoopFiles(t *testing.T, l *testLab) []string {
	t.Helper()
	r := labctl(t, l, "", "exec", "--", `echo "inode=$(stat -c %i /portworx.blk)"`)
	if r.code != 0 {
		t.Fatalf("stat /portworx.blk: exit %d", r.code)
	}
	var inodes []string
	for _, m := range regexp.MustCompile(`inode=(\d+)`).FindAllStringSubmatch(r.stdout, -1) {
		inodes = append(inodes, m[1])
	}
	return inodes
}

// attachedLoops lists the host's loop devices backed by one of the files
// with these inode numbers.
func attachedLoops(t *testing.T, inodes []string) []string {
	t.Helper()
	out, err := exec.Command("losetup", "-a").Output()
	if err != nil {
		t.Fatalf("losetup -a: %v", err)
	}
	var held []string
	for _, line := range strings.Split(string(out), "\n") {
		for _, ino := range inodes {
			if strings.HasSuffix(line, "]:"+ino+" (/portworx.blk)") {
				held = append(held, line)
			}
		}
	}
	return held
}

// commandsPerHost counts the commands in each host's log (one "... $ "
// line per command).
func commandsPerHost(t *testing.T, l *testLab) map[string]int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(l.state, "logs", "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		counts[filepath.Base(f)] = len(regexp.MustCompile(`(?m)^\S+ \$ `).FindAll(b, -1))
	}
	return counts
}

// hostLog is one host's command log.
func hostLog(t *testing.T, l *testLab, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(l.state, "logs", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
