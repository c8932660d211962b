package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDriftRepair restarts a node of a finished 1 × 2 lab (what a reboot
// of this machine does to every node), checks that the attendee loses
// nothing, then breaks the outcome of every nodeprep step on a node and
// checks that one up repairs exactly that, and nothing else.
func TestDriftRepair(t *testing.T) {
	needE2E(t)
	l := newLab(t, "i14-drift", "attendees: 1\nnodesPerCluster: 2\nkubernetes: {version: \"1.34.4\", cni: bridge, source: cache}\n")
	if r := labctl(t, l, "", "up"); r.code != 0 {
		t.Fatalf("up failed (exit %d): %s", r.code, r.stderr)
	}
	node1, node2 := containerName(l, 1, "node1"), containerName(l, 1, "node2")

	t.Run("a restarted node keeps what the attendee relies on, without up", func(t *testing.T) {
		podman(t, "restart", "-t", "2", node2)
		waitBooted(t, node2)
		attendeeSSH(t, node1, "node2")
		attendeeSSH(t, node2, "node1")
		for _, probe := range []string{"systemctl is-active containerd docker", "losetup /dev/loop4", "command -v helm"} {
			if out, err := podmanExec(node2, probe); err != nil {
				t.Errorf("after the restart, %q on node2: %v: %s", probe, err, out)
			}
		}
	})

	// One broken outcome per step that has one to break, and the steps
	// whose checks must catch it.
	breaks := []struct{ container, what, cmd string }{
		{node2, "the /etc/hosts block", `sed -i '/# BEGIN labctl/,/# END labctl/d' /etc/hosts`},
		{node2, "containerd", "systemctl stop containerd"},
		{node1, "the attendee's known_hosts", "rm ~k8s/.ssh/known_hosts"},
		// A package install cut short: jq gone and dpkg's journal left, so
		// a plain apt-get refuses ("dpkg was interrupted").
		{node1, "jq, with dpkg interrupted", "dpkg -r --force-depends jq && mkdir -p /var/lib/dpkg/updates && : > /var/lib/dpkg/updates/0001"},
		{node2, "helm", "rm /usr/local/bin/helm"},
		{node2, "the loop device", "losetup -d /dev/loop4"},
	}
	for _, b := range breaks {
		if out, err := podmanExec(b.container, b.cmd); err != nil {
			t.Fatalf("breaking %s: %v: %s", b.what, err, out)
		}
	}
	want := map[string][]string{"01/node1": {"packages", "login"}, "01/node2": {"hostname", "runtime", "tools", "portworx"}}

	before := commandsPerHost(t, l)
	r := labctl(t, l, "", "up")
	if r.code != 0 {
		t.Fatalf("the repairing up failed (exit %d): %s", r.code, r.stderr)
	}
	sent := commandsSince(t, l, before)

	t.Run("up plans and runs the broken steps only", func(t *testing.T) {
		if !strings.Contains(r.stdout, "2 of 2 nodes need work") {
			t.Error("the plan must name both nodes")
		}
		for host, steps := range want {
			if !strings.Contains(r.stdout, "    "+host+": "+strings.Join(steps, ", ")+"\n") {
				t.Errorf("the plan for %s is not %v", host, steps)
			}
		}
		ran := map[string][]string{}
		for _, m := range regexp.MustCompile(`(?m)^    (\d\d/node\d): (\w+) done in `).FindAllStringSubmatch(r.stdout, -1) {
			ran[m[1]] = append(ran[m[1]], m[2])
		}
		for host, steps := range want {
			if fmt.Sprint(ran[host]) != fmt.Sprint(steps) {
				t.Errorf("%s ran %v, want %v", host, ran[host], steps)
			}
		}
	})

	t.Run("up sends each node its probe and its broken steps only", func(t *testing.T) {
		// The probe round, then one command per step run (an upload logs
		// its checksum, its move and itself: the tools step uploads helm
		// and stern), then the kubeadm phase's own probe: nodeprep's answers
		// are stale once it changed the cluster, so the kubeadm and coins
		// phases ask again.
		uploads := map[string]int{"01/node1": 0, "01/node2": 2}
		for host, steps := range want {
			log := strings.Replace(host, "/", "-", 1) + ".log"
			cmds := sent[log]
			t.Logf("%s: the repairing up sent %d commands:\n%s", host, len(cmds), strings.Join(cmds, "\n"))
			end := len(cmds)
			for i, c := range cmds {
				if strings.HasPrefix(c, "test -f /etc/kubernetes/") {
					end = i
					break
				}
			}
			if len(cmds) == 0 || cmds[0] != "bash -s" {
				t.Errorf("%s: the first command must be the probe round", host)
				continue
			}
			if n, want := end-1, len(steps)+3*uploads[host]; n != want {
				t.Errorf("%s: nodeprep sent %d commands, want %d (%v)", host, n, want, steps)
			}
		}
	})

	t.Run("the attendee's ssh node2 and kubectl work again", func(t *testing.T) {
		attendeeSSH(t, node1, "node2")
		attendeeSSH(t, node2, "node1")
		if out, err := podmanExec(node1, "jq --version"); err != nil {
			t.Errorf("jq on node1 after the repair: %v: %s", err, out)
		}
		out, err := podmanExec(node1, "su - k8s -c 'kubectl get nodes --no-headers'")
		if err != nil || strings.Count(out, " Ready ") != 2 {
			t.Errorf("kubectl get nodes as the attendee: %v: %s", err, out)
		}
	})

	t.Run("a second up finds nothing to repair", func(t *testing.T) {
		r := labctl(t, l, "", "up")
		if r.code != 0 || !strings.Contains(r.stdout, "0 of 2 nodes need work") {
			t.Fatalf("exit %d: %s", r.code, r.stdout)
		}
	})

	t.Run("an exec plugin in node1's admin.conf runs nothing here", func(t *testing.T) {
		hostileAdminConf(t, l, node1)
	})
}

// hostileAdminConf plays the attendee with sudo on node1 (issue 17,
// finding 1): the kept kubeconfig stops working (its group's binding
// deleted), and admin.conf's user gets a credential plugin that writes a
// marker on whatever machine runs it. labctl status and up must run
// nothing, say which node sent what, and keep what the state holds.
// Everything broken is restored.
func hostileAdminConf(t *testing.T, l *testLab, node1 string) {
	marker := filepath.Join(t.TempDir(), "PWNED")
	before := readState(t, l).Cluster(1)
	steps := []string{
		"cp -a /etc/kubernetes/admin.conf /root/admin.conf.orig",
		"kubectl --kubeconfig /etc/kubernetes/admin.conf delete clusterrolebinding kubeadm:cluster-admins",
		`sed -i 's|^  user:$|  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1, command: sh, args: [-c, "id > ` + marker + `"]}|' /etc/kubernetes/admin.conf`,
		"grep -q 'command: sh' /etc/kubernetes/admin.conf",
	}
	defer func() {
		restore := "cp -a /root/admin.conf.orig /etc/kubernetes/admin.conf; " +
			"kubectl --kubeconfig /etc/kubernetes/super-admin.conf create clusterrolebinding kubeadm:cluster-admins --clusterrole=cluster-admin --group=kubeadm:cluster-admins"
		if out, err := podmanExec(node1, restore); err != nil {
			t.Errorf("restoring node1's admin.conf and binding: %v: %s", err, out)
		}
	}()
	for _, s := range steps {
		if out, err := podmanExec(node1, s); err != nil {
			t.Fatalf("as the attendee on node1, %s: %v: %s", s, err, out)
		}
	}
	r := labctl(t, l, "", "status", "--json")
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("labctl status ran node1's exec plugin on this machine: %s exists", marker)
	}
	want := "01/node1: /etc/kubernetes/admin.conf refused: users[0].user.exec refused (a credential plugin"
	if !strings.Contains(r.stdout, want) {
		t.Errorf("status --json does not say %q:\n%s", want, r.stdout)
	}
	// up stores what it connects with: it must not take the file.
	r = labctl(t, l, "", "up", "--only", "health")
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatalf("labctl up ran node1's exec plugin on this machine: %s exists", marker)
	}
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "/etc/kubernetes/admin.conf refused") {
		t.Errorf("up --only health: exit %d, no refusal said:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	after := readState(t, l).Cluster(1)
	if strings.Contains(after.Kubeconfig, "exec") || after.Kubeconfig != before.Kubeconfig || after.CA != before.CA {
		t.Errorf("state.json's kubeconfig or CA changed:\n%s", after.Kubeconfig)
	}
}

// commandsSince lists the commands each host's log gained since before
// (counts from commandsPerHost).
func commandsSince(t *testing.T, l *testLab, before map[string]int) map[string][]string {
	t.Helper()
	sent := map[string][]string{}
	for name := range commandsPerHost(t, l) {
		lines := regexp.MustCompile(`(?m)^\S+ \$ (.*)$`).FindAllStringSubmatch(hostLog(t, l, name), -1)
		for _, m := range lines[before[name]:] {
			sent[name] = append(sent[name], m[1])
		}
	}
	return sent
}

// podmanExec runs a shell command in a node container.
func podmanExec(container, cmd string) (string, error) {
	out, err := exec.Command("podman", "exec", container, "sh", "-c", cmd).CombinedOutput()
	return string(out), err
}

// attendeeSSH runs `ssh NODE hostname` as the attendee on a node.
func attendeeSSH(t *testing.T, container, node string) {
	t.Helper()
	out, err := podmanExec(container, "su - k8s -c 'ssh -o BatchMode=yes "+node+" hostname'")
	if err != nil || strings.TrimSpace(out) != node {
		t.Errorf("as the attendee on %s, ssh %s hostname: %v: %s", container, node, err, out)
	}
}

// waitBooted waits until a node container's systemd has started sshd and
// finished its boot jobs.
func waitBooted(t *testing.T, container string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, err := podmanExec(container, "systemctl is-active ssh && systemctl is-system-running")
		if err == nil || strings.Contains(out, "degraded") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not boot in 90s: %s", container, out)
		}
		time.Sleep(time.Second)
	}
}
