package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// TestFoundation brings up 2 clusters × 2 local nodes and exercises exec,
// ssh, faults and locking against them, in order.
func TestFoundation(t *testing.T) {
	needE2E(t)
	l := newLab(t, "e2e-found", "attendees: 2\nnodesPerCluster: 2\n")

	start := time.Now()
	up := labctl(t, l, "", "up", "--only", "provision")
	if up.code != 0 {
		t.Fatalf("up failed: %s", up.stderr)
	}
	t.Logf("first up: %s", time.Since(start))
	for _, want := range []string{"==> provision (local)", "cluster 01:", "cluster 02:", "4 of 4 nodes reachable"} {
		if !strings.Contains(up.stdout, want) {
			t.Fatalf("up output lacks %q", want)
		}
	}
	st, err := lab.ReadState(l.state)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Clusters {
		for _, n := range c.Nodes {
			if n.HostKey == "" || n.PublicAddress == "" {
				t.Fatalf("%s: no pinned key or address in state: %+v", lab.Label(c.Index, n.Name), n)
			}
		}
	}
	if st.Clusters[0].Login.Password == st.Clusters[1].Login.Password {
		t.Fatal("clusters share a password")
	}

	t.Run("exec on every node", func(t *testing.T) {
		r := labctl(t, l, "", "exec", "--", "hostname")
		if r.code != 0 {
			t.Fatalf("exit %d", r.code)
		}
		for _, want := range []string{"[01/node1] node1", "[01/node2] node2", "[02/node1] node1", "[02/node2] node2", "---- 4 ok, 0 failed"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("output lacks %q", want)
			}
		}
	})

	t.Run("exec selects cluster and node", func(t *testing.T) {
		r := labctl(t, l, "", "exec", "--cluster", "2", "--node", "node2", "--", "echo", "picked")
		if r.code != 0 || strings.TrimSpace(strings.Split(r.stdout, "\n")[0]) != "[02/node2] picked" || strings.Contains(r.stdout, "01/") {
			t.Fatalf("selection wrong: %q", r.stdout)
		}
		bad := labctl(t, l, "", "exec", "--cluster", "7", "--", "true")
		if bad.code != 2 || !strings.Contains(bad.stderr, "no cluster 7") {
			t.Fatalf("want a usage error for cluster 7, got %d %q", bad.code, bad.stderr)
		}
	})

	t.Run("failing command on one host", func(t *testing.T) {
		r := labctl(t, l, "", "exec", "--", "test $(hostname) != node2 || { echo nope >&2; exit 4; }")
		if r.code == 0 {
			t.Fatal("exec must exit non-zero when a host failed")
		}
		if !regexp.MustCompile(`01/node2\s+FAILED\s+exit 4`).MatchString(r.stdout) || !strings.Contains(r.stdout, "2 ok, 2 failed") {
			t.Fatalf("summary does not name the failed hosts: %q", r.stdout)
		}
		if !strings.Contains(r.stderr, "[02/node2] nope") {
			t.Fatalf("stderr not prefixed: %q", r.stderr)
		}
	})

	t.Run("ssh into a node", func(t *testing.T) {
		r := labctl(t, l, "hostname\nexit\n", "ssh", "2", "node2")
		if r.code != 0 || !strings.Contains(r.stdout, "node2") {
			t.Fatalf("ssh did not reach node2: %q %q", r.stdout, r.stderr)
		}
	})

	t.Run("engine reconnects after sshd restart", func(t *testing.T) {
		eng, x := engineFor(t, l, st, 1, "node1")
		defer eng.Close()
		ctx := context.Background()
		if _, err := x.Run(ctx, remote.Command{Line: "true"}); err != nil {
			t.Fatal(err)
		}
		podman(t, "exec", containerName(l, 1, "node1"), "systemctl", "restart", "ssh")
		// Restarting sshd leaves established sessions alone; drop ours too,
		// as a network blip would.
		podman(t, "exec", containerName(l, 1, "node1"), "sh", "-c", "pkill -f '^sshd: root' || true")
		time.Sleep(500 * time.Millisecond)
		res, err := x.Run(ctx, remote.Command{Line: "echo again"})
		if err != nil || string(res.Stdout) != "again\n" {
			t.Fatalf("no reconnect after sshd restart: %q %v", res.Stdout, err)
		}
	})

	t.Run("upload 50 MB with checksum", func(t *testing.T) {
		eng, x := engineFor(t, l, st, 2, "node1")
		defer eng.Close()
		data := make([]byte, 50<<20)
		rand.Read(data)
		sum := sha256.Sum256(data)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		start := time.Now()
		if err := x.Upload(ctx, bytes.NewReader(data), "/var/tmp/blob.bin", 0o600); err != nil {
			t.Fatal(err)
		}
		t.Logf("50 MB upload took %s", time.Since(start))
		res, err := x.Run(ctx, remote.Command{Line: "sha256sum /var/tmp/blob.bin && stat -c %a /var/tmp/blob.bin"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(res.Stdout), hex.EncodeToString(sum[:])) || !strings.Contains(string(res.Stdout), "\n600\n") {
			t.Fatalf("uploaded file differs: %q", res.Stdout)
		}
	})

	t.Run("node stopped mid-command", func(t *testing.T) {
		victim := containerName(l, 2, "node2")
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(2 * time.Second)
			exec.Command("podman", "kill", victim).Run()
		}()
		r := labctl(t, l, "", "exec", "--", "sleep 5; echo finished")
		wg.Wait()
		if r.code == 0 {
			t.Fatal("exec must fail when a node died")
		}
		for _, h := range []string{"01/node1", "01/node2", "02/node1"} {
			if !strings.Contains(r.stdout, "["+h+"] finished") {
				t.Errorf("%s did not finish its command", h)
			}
		}
		if !regexp.MustCompile(`02/node2\s+FAILED`).MatchString(r.stdout) || !strings.Contains(r.stdout, "3 ok, 1 failed") {
			t.Fatalf("the dead node is not reported: %q", r.stdout)
		}
		// labctl up brings the node back, with the same address and key.
		again := labctl(t, l, "", "up", "--only", "provision")
		if again.code != 0 {
			t.Fatalf("up after a node died: %s", again.stderr)
		}
		if r := labctl(t, l, "", "exec", "--cluster", "2", "--", "true"); r.code != 0 {
			t.Fatal("the restarted node is not usable")
		}
	})

	t.Run("status names a stopped node within its timeout", func(t *testing.T) {
		podman(t, "stop", "-t", "1", containerName(l, 2, "node2"))
		start := time.Now()
		r := labctl(t, l, "", "status", "--timeout", "3s")
		took := time.Since(start)
		if r.code != 0 {
			t.Fatalf("status exit %d", r.code)
		}
		if took > 15*time.Second {
			t.Fatalf("status took %s with a 3s probe timeout", took)
		}
		if !regexp.MustCompile(`(?m)^01\s+2/2`).MatchString(r.stdout) || !regexp.MustCompile(`(?m)^02\s+1/2.*node2 unreachable`).MatchString(r.stdout) {
			t.Fatalf("status rows do not show the stopped node: %q", r.stdout)
		}
		if again := labctl(t, l, "", "up", "--only", "provision"); again.code != 0 {
			t.Fatal("up did not restart the stopped node")
		}
	})

	t.Run("changed host key is refused", func(t *testing.T) {
		victim := containerName(l, 1, "node2")
		podman(t, "exec", victim, "sh", "-c", "rm -f /etc/ssh/ssh_host_* && ssh-keygen -A && systemctl restart ssh")
		r := labctl(t, l, "", "exec", "--", "echo reached")
		if r.code == 0 {
			t.Fatal("exec succeeded against a host whose key changed")
		}
		if strings.Contains(r.stdout, "[01/node2] reached") {
			t.Fatal("the command ran on the host whose key changed")
		}
		for _, want := range []string{"01/node2", "host key changed", "labctl trust --cluster 1 --node node2"} {
			if !strings.Contains(r.stdout+r.stderr, want) {
				t.Errorf("output lacks %q", want)
			}
		}
		if !strings.Contains(r.stdout, "[02/node1] reached") {
			t.Error("other hosts must still run")
		}
		// Accepting the new key is deliberate: trust, then up reads it from podman.
		if r := labctl(t, l, "", "trust", "--cluster", "1", "--node", "node2"); r.code != 0 {
			t.Fatal("trust failed")
		}
		if r := labctl(t, l, "", "up", "--only", "provision"); r.code != 0 {
			t.Fatal("up after trust failed")
		}
		if r := labctl(t, l, "", "exec", "--", "true"); r.code != 0 {
			t.Fatal("the new key was not accepted after trust")
		}
	})

	t.Run("two labctl processes on one lab", func(t *testing.T) {
		holder, err := lab.Open(l.state, l.name, 0, "the e2e test")
		if err != nil {
			t.Fatal(err)
		}
		r := labctl(t, l, "", "up", "--only", "provision")
		if r.code != 3 || !strings.Contains(r.stderr, "in use by another labctl") || !strings.Contains(r.stderr, "the e2e test") {
			holder.Close()
			t.Fatalf("second labctl must refuse naming the holder: %d %q", r.code, r.stderr)
		}
		go func() { time.Sleep(time.Second); holder.Close() }()
		r = labctl(t, l, "", "--wait", "30s", "up", "--only", "provision")
		if r.code != 0 {
			t.Fatalf("waiting labctl failed: %q", r.stderr)
		}
		if _, err := lab.ReadState(l.state); err != nil {
			t.Fatalf("state damaged: %v", err)
		}
	})

	t.Run("destroy removes everything", func(t *testing.T) {
		r := labctl(t, l, "", "destroy", "--yes")
		if r.code != 0 {
			t.Fatal("destroy failed")
		}
		left := podman(t, "ps", "-aq", "--filter", "label=labctl.lab="+l.name) + podman(t, "volume", "ls", "-q", "--filter", "label=labctl.lab="+l.name)
		if strings.TrimSpace(left) != "" {
			t.Fatalf("destroy left containers or volumes: %q", left)
		}
		if exec.Command("podman", "network", "exists", "labctl-"+l.name).Run() == nil {
			t.Fatal("destroy left the network")
		}
		if r := labctl(t, l, "", "exec", "--", "true"); r.code == 0 || !strings.Contains(r.stderr, "labctl up") {
			t.Fatalf("exec after destroy must point to labctl up: %q", r.stderr)
		}
	})
}

func containerName(l *testLab, cluster int, node string) string {
	return fmt.Sprintf("labctl-%s-%02d-%s", l.name, cluster, node)
}

// engineFor is an SSH engine with the lab's key and pinned host keys.
func engineFor(t *testing.T, l *testLab, st *lab.State, cluster int, node string) (*remote.Engine, remote.Executor) {
	t.Helper()
	signers, err := remote.LoadSigners(filepath.Join(l.state, "ssh", "id_ed25519"))
	if err != nil {
		t.Fatal(err)
	}
	eng := remote.NewEngine(remote.Config{User: "root", Signers: signers})
	c := st.Cluster(cluster)
	n := c.Node(node)
	if n == nil {
		t.Fatal(errors.New("no such node"))
	}
	return eng, eng.Host(remote.Host{Name: lab.Label(cluster, node), Address: n.PublicAddress, Port: n.Port, HostKey: n.HostKey})
}
