package e2e

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/labctl/labctl/lab"
)

// TestPulumiLocal drives provider: pulumi, target local, through the real
// Pulumi engine: labctl's own resource provider makes the nodes.
func TestPulumiLocal(t *testing.T) {
	needE2E(t)
	const body = "nodesPerCluster: 2\nprovider: {type: pulumi, pulumi: {target: local}}\n"
	l := newLab(t, "i11-pulumi", "attendees: 1\n"+body)

	start := time.Now()
	up := labctl(t, l, "", "up")
	t.Logf("first up took %s", time.Since(start).Round(time.Second))
	if up.code != 0 {
		t.Fatalf("up failed (exit %d): %s", up.code, up.stderr)
	}
	for _, want := range []string{"+ create labctl:local:Node c01-node1", "✓ create labctl:local:Node c01-node2", "pulumi: "} {
		if !strings.Contains(up.stdout, want) {
			t.Errorf("up printed no %q", want)
		}
	}
	st := readState(t, l)
	for _, n := range st.Clusters[0].Nodes {
		// Pinned from the stack's outputs: the key the container has.
		key := podman(t, "exec", containerName(l, 1, n.Name), "cat", "/etc/ssh/ssh_host_ed25519_key.pub")
		if f := strings.Fields(key); len(f) < 2 || n.HostKey != f[0]+" "+f[1] {
			t.Errorf("%s: pinned %q, the node has %q", n.Name, n.HostKey, key)
		}
	}

	t.Run("every node Ready", func(t *testing.T) {
		r := labctl(t, l, "", "exec", "--node", "node1", "--", "su - k8s -c 'kubectl get nodes --no-headers'")
		for _, n := range []string{"node1", "node2"} {
			if !regexp.MustCompile(`\[01/node1\] ` + n + `\s+Ready\s`).MatchString(r.stdout) {
				t.Errorf("%s not Ready", n)
			}
		}
	})

	t.Run("a second up changes nothing", func(t *testing.T) {
		start := time.Now()
		r := labctl(t, l, "", "up")
		t.Logf("second up took %s", time.Since(start).Round(time.Millisecond))
		if r.code != 0 || !strings.Contains(r.stdout, "pulumi: no changes") {
			t.Errorf("second up: exit %d, want pulumi: no changes", r.code)
		}
	})

	// The local target's nodes are the local provider's containers: stop
	// and start are its, and the stack stays as it was (labctl stop on the
	// aws target is the program's InstanceState, tested with mocks).
	t.Run("stop and start, then up changes nothing", func(t *testing.T) {
		stop := labctl(t, l, "", "stop")
		if stop.code != 0 || !strings.Contains(stop.stdout, "cluster 01: stopped in") {
			t.Fatalf("stop: exit %d\n%s%s", stop.code, stop.stdout, stop.stderr)
		}
		if running := podman(t, "ps", "-q", "--filter", "label=labctl.lab="+l.name); strings.TrimSpace(running) != "" {
			t.Errorf("containers still running after stop: %s", running)
		}
		start := labctl(t, l, "", "start")
		if start.code != 0 || !regexp.MustCompile(`cluster 01: healthy \S+ after start`).MatchString(start.stdout) {
			t.Fatalf("start: exit %d\n%s%s", start.code, start.stdout, start.stderr)
		}
		t.Logf("%s", regexp.MustCompile(`cluster 01: healthy \S+ after start`).FindString(start.stdout))
		r := labctl(t, l, "", "up", "--only", "provision")
		if r.code != 0 || !strings.Contains(r.stdout, "pulumi: no changes") {
			t.Errorf("up after stop/start: exit %d, want pulumi: no changes\n%s", r.code, r.stdout)
		}
	})

	t.Run("SIGKILL while adding a cluster, then up converges", func(t *testing.T) {
		writeLab(t, l, "attendees: 2\n"+body)
		killed := upKilledAt(t, l, "+ create labctl:local:Node c02-node")
		if !killed {
			t.Fatal("up ended before it started cluster 2")
		}
		r := labctl(t, l, "", "up", "--only", "provision")
		if r.code != 0 {
			t.Fatalf("up after SIGKILL: exit %d", r.code)
		}
		names := strings.Fields(podman(t, "ps", "-a", "--filter", "label=labctl.lab="+l.name, "--format", "{{.Names}}"))
		if len(names) != 4 {
			t.Errorf("containers after recovery: %v, want 4", names)
		}
		st := readState(t, l)
		if len(st.Clusters) != 2 || len(st.Clusters[1].Nodes) != 2 || st.Clusters[1].Nodes[0].HostKey == "" {
			t.Errorf("state after recovery: %+v", st.Clusters)
		}
	})

	t.Run("attendees back to 1 removes cluster 2 exactly", func(t *testing.T) {
		writeLab(t, l, "attendees: 1\n"+body)
		r := labctl(t, l, "", "up", "--only", "provision")
		if r.code != 0 || !strings.Contains(r.stdout, "- delete labctl:local:Node c02-node1") {
			t.Fatalf("up: exit %d", r.code)
		}
		names := podman(t, "ps", "-a", "--filter", "label=labctl.lab="+l.name, "--format", "{{.Names}}")
		if strings.Contains(names, "-02-") || !strings.Contains(names, "-01-node2") {
			t.Errorf("containers: %s", names)
		}
		if vols := podman(t, "volume", "ls", "-q", "--filter", "label=labctl.lab="+l.name); strings.Contains(vols, "-02-") {
			t.Errorf("cluster 2's volumes remain: %s", vols)
		}
		if st := readState(t, l); len(st.Clusters) != 1 {
			t.Errorf("state has %d clusters", len(st.Clusters))
		}
	})

	t.Run("destroy leaves no container, volume, network or stack", func(t *testing.T) {
		r := labctl(t, l, "", "destroy", "--yes")
		if r.code != 0 || !strings.Contains(r.stdout, "deleted") {
			t.Fatalf("destroy: exit %d", r.code)
		}
		if out := podman(t, "ps", "-aq", "--filter", "label=labctl.lab="+l.name); strings.TrimSpace(out) != "" {
			t.Errorf("containers left: %s", out)
		}
		if out := podman(t, "volume", "ls", "-q", "--filter", "label=labctl.lab="+l.name); strings.TrimSpace(out) != "" {
			t.Errorf("volumes left: %s", out)
		}
		if err := exec.Command("podman", "network", "exists", "labctl-"+l.name).Run(); err == nil {
			t.Error("network left")
		}
		stacks, _ := filepath.Glob(filepath.Join(l.state, "pulumi", "backend", ".pulumi", "stacks", "*", "*.json"))
		if len(stacks) > 0 {
			t.Errorf("stacks left: %v", stacks)
		}
	})
}

func readState(t *testing.T, l *testLab) *lab.State {
	t.Helper()
	st, err := lab.ReadState(l.state)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func writeLab(t *testing.T, l *testLab, body string) {
	t.Helper()
	if err := os.WriteFile(l.file, []byte("name: "+l.name+"\n"+body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// upKilledAt runs `labctl up --only provision` and SIGKILLs its whole
// process group (labctl, the pulumi CLI, the resource provider: what a
// crash or a terminal's kill does) once a line contains trigger.
func upKilledAt(t *testing.T, l *testLab, trigger string) bool {
	t.Helper()
	cmd := exec.Command(bin, "-f", l.file, "--state-dir", l.state, "up", "--only", "provision")
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var se bytes.Buffer
	cmd.Stderr = &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var so bytes.Buffer
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		so.WriteString(sc.Text() + "\n")
		if !killed && strings.Contains(sc.Text(), trigger) {
			killed = true
			// Let the provider start making the node, then pull the plug.
			time.Sleep(1500 * time.Millisecond)
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	cmd.Wait()
	t.Logf("labctl up (killed: %v)\n%s%s", killed, so.String(), se.String())
	return killed
}
