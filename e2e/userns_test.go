package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestUserNS: a 1 × 2 local lab whose nodes run in a user namespace
// (provider.userns) comes up healthy through every phase, runs a pod and
// `kubectl exec`, survives stop and start, and its nodes' root is an
// unprivileged user of this machine that the host's devices and kernel
// settings refuse.
func TestUserNS(t *testing.T) {
	needE2E(t)
	l := newLab(t, "e2e-userns", "nodesPerCluster: 2\nprovider: {type: local, userns: true}\n")
	up := labctl(t, l, "", "up")
	if up.code != 0 || !strings.Contains(up.stdout, "cluster 01: ok") {
		t.Fatalf("up: exit %d\n%s%s", up.code, up.stdout, up.stderr)
	}
	n1, n2 := containerName(l, 1, "node1"), containerName(l, 1, "node2")
	hostUsers := func(when string) {
		for _, c := range []string{n1, n2} {
			id := strings.TrimSpace(podman(t, "inspect", "--format", "{{.Id}}", c))
			procs, err := nodeProcesses(id)
			if err != nil {
				t.Fatalf("%s: the processes of %s: %v", when, c, err)
			}
			// The node's own services and a pod's process (kube-proxy,
			// which every node runs) must be among them.
			names := map[string]bool{}
			for pid, p := range procs {
				names[p.name] = true
				if p.uid < 1_000_000_000 || p.uid > 1_000_065_535 {
					t.Errorf("%s: process %s (%s) of %s runs as host uid %d", when, pid, p.name, c, p.uid)
				}
			}
			for _, want := range []string{"systemd", "sshd", "containerd", "kubelet", "kube-proxy"} {
				if !names[want] {
					t.Fatalf("%s: no %s among the %d processes of %s", when, want, len(procs), c)
				}
			}
			t.Logf("%s: %d processes of %s (pods' included), all host uids 1000000000-1000065535", when, len(procs), c)
		}
	}
	hostUsers("after up")
	kubectl := "kubectl --kubeconfig /etc/kubernetes/admin.conf "
	if out, err := podmanExec(n1, "grep -A1 featureGates /var/lib/kubelet/config.yaml"); err != nil || !strings.Contains(out, "KubeletInUserNamespace: true") {
		t.Errorf("node1's kubelet has no KubeletInUserNamespace gate: %v: %s", err, out)
	}
	script := kubectl + "run userns-redis --image=redis:7.0 --overrides='{\"spec\":{\"nodeName\":\"node2\"}}' && " +
		kubectl + "wait --for=condition=Ready pod/userns-redis --timeout=180s && " + kubectl + "exec userns-redis -- redis-cli ping"
	if out, err := podmanExec(n1, script); err != nil || !strings.Contains(out, "PONG") {
		t.Fatalf("a pod on node2 and kubectl exec: %v: %s", err, out)
	}
	// What root on a node may not do to this machine (a privileged node may).
	for what, cmd := range map[string]string{
		"write a kernel-wide sysctl":    "cat /proc/sys/kernel/panic > /proc/sys/kernel/panic",
		"open the host's loop control":  "exec 3<>/dev/loop-control",
		"open the host's kernel log":    "exec 3>/dev/kmsg",
		"make a block device":           "mknod /tmp/l9 b 7 9",
		"find a writable release_agent": "for f in $(find /sys/fs/cgroup -maxdepth 3 -name release_agent); do test -w $f && exit 0; done; exit 1",
	} {
		if out, err := podmanExec(n2, cmd); err == nil {
			t.Errorf("root on node2 may %s: %s", what, out)
		}
	}
	if out, err := podmanExec(n2, "sysctl -w net.ipv4.ip_forward=1"); err != nil {
		t.Errorf("the node's own network settings must stay its root's: %v: %s", err, out)
	}

	start := time.Now()
	stop := labctl(t, l, "", "stop")
	if stop.code != 0 || !strings.Contains(stop.stdout, "cluster 01: stopped in") {
		t.Fatalf("stop: exit %d\n%s%s", stop.code, stop.stdout, stop.stderr)
	}
	st := labctl(t, l, "", "start")
	if st.code != 0 || !strings.Contains(st.stdout, "healthy") {
		t.Fatalf("start: exit %d\n%s%s", st.code, st.stdout, st.stderr)
	}
	t.Logf("stop and start: %s", time.Since(start))
	hostUsers("after stop and start")
	if out, err := podmanExec(n1, "for i in $(seq 60); do "+kubectl+"exec userns-redis -- redis-cli ping && exit 0; sleep 3; done; exit 1"); err != nil || !strings.Contains(out, "PONG") {
		t.Errorf("the pod after stop and start: %v: %s", err, out)
	}
}

// nodeProcessUIDs maps the PID of every process of this machine in the
// node container's cgroup (the node's own and its pods', whose cgroups
// nest under it) to its real host UID.
func nodeProcesses(id string) (map[string]nodeProc, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return nil, err
	}
	out := map[string]nodeProc{}
	for _, d := range dirs {
		cg, err := os.ReadFile(filepath.Join(d, "cgroup"))
		if err != nil || !strings.Contains(string(cg), "libpod-"+id) {
			continue
		}
		st, err := os.ReadFile(filepath.Join(d, "status"))
		if err != nil {
			continue
		}
		var p nodeProc
		for _, line := range strings.Split(string(st), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) > 1 && f[0] == "Name:":
				p.name = f[1]
			case len(f) > 1 && f[0] == "Uid:":
				if p.uid, err = strconv.Atoi(f[1]); err != nil {
					return nil, err
				}
			}
		}
		out[filepath.Base(d)] = p
	}
	return out, nil
}

// nodeProc is one process of a node, as this machine sees it.
type nodeProc struct {
	name string
	uid  int
}
