package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/provision/kind"
)

// TestKind: two attendees in kind mode, DockerCoins on, offline (labctl's
// own node image). Each card's kubeconfig reaches its cluster from this
// machine, DockerCoins mines on each, a second up changes nothing, and
// destroy leaves no kind cluster, container, volume or network behind.
func TestKind(t *testing.T) {
	needE2E(t)
	const name = "e2e-kind"
	clusters := []string{"labctl-" + name + "-01", "labctl-" + name + "-02"}
	network := "labctl-kind-" + name
	// Leftovers of an interrupted run (kind's nodes carry kind's labels, not labctl's).
	for _, c := range clusters {
		exec.Command("podman", "rm", "-f", "-v", c+"-control-plane").Run()
		exec.Command("sh", "-c", "podman volume rm -f $(podman volume ls -q --filter label="+c+"-control-plane)").Run()
	}
	exec.Command("podman", "network", "rm", "-f", network).Run()
	kubectl := findKubectl(t)

	l := newLab(t, name, "attendees: 2\nprovider: {type: kind}\ncoins: {enabled: true}\n")
	start := time.Now()
	if r := labctl(t, l, "", "up"); r.code != 0 {
		t.Fatalf("up failed (exit %d): %s", r.code, r.stderr)
	}
	t.Logf("first up: %s", time.Since(start).Round(time.Second))

	cardsDir := filepath.Join(filepath.Dir(l.file), "cards")
	if r := labctl(t, l, "", "cards", "--format", "text,json", "-o", cardsDir); r.code != 0 {
		t.Fatalf("cards: exit %d: %s", r.code, r.stderr)
	}
	for i := range clusters {
		n := strconv.Itoa(i + 1)
		kc := filepath.Join(cardsDir, "cluster-0"+n+".kubeconfig")
		t.Run("cluster "+n+": the card's kubeconfig reaches a Ready node from this host", func(t *testing.T) {
			out := run(t, kubectl, "--kubeconfig", kc, "get", "nodes", "--no-headers")
			if !regexp.MustCompile(`(?m)^node1\s+Ready\s`).MatchString(out) {
				t.Fatalf("get nodes: %s", out)
			}
			if info, err := os.Stat(kc); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("%s: want mode 0600 (%v)", kc, err)
			}
		})
		t.Run("cluster "+n+": DockerCoins mines", func(t *testing.T) {
			read := func() int {
				out := run(t, kubectl, "--kubeconfig", kc, "-n", "dockercoins", "exec", "deploy/redis", "--", "redis-cli", "get", "hashes")
				h, err := strconv.Atoi(strings.TrimSpace(out))
				if err != nil {
					t.Fatalf("hashes: %q", out)
				}
				return h
			}
			first := read()
			time.Sleep(5 * time.Second)
			if second := read(); second <= first {
				t.Errorf("hashes did not grow: %d then %d", first, second)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(cardsDir, "cards.txt")); err != nil || !strings.Contains(string(b), "kubectl --kubeconfig cluster-01.kubeconfig") {
		t.Errorf("cards.txt does not give the kubeconfig (%v):\n%s", err, b)
	}

	t.Run("exec and status go through the node container", func(t *testing.T) {
		r := labctl(t, l, "", "exec", "--", "cat /kind/version")
		if r.code != 0 || strings.Count(r.stdout, "v1.34") != 2 {
			t.Fatalf("exec: exit %d: %s", r.code, r.stdout)
		}
		r = labctl(t, l, "", "status")
		if r.code != 0 || !regexp.MustCompile(`(?m)^01\s+1/1\s+1/1\s+ok\s`).MatchString(r.stdout) || !regexp.MustCompile(`(?m)^02\s+1/1\s+1/1\s+ok\s`).MatchString(r.stdout) {
			t.Fatalf("status: exit %d: %s", r.code, r.stdout)
		}
	})

	t.Run("a second up is a no-op", func(t *testing.T) {
		ids := podman(t, "ps", "-q", "--no-trunc", "--filter", "label=io.x-k8s.kind.cluster="+clusters[0])
		start := time.Now()
		r := labctl(t, l, "", "up")
		took := time.Since(start)
		if r.code != 0 || strings.Contains(r.stdout, "creating kind cluster") || strings.Contains(r.stdout, "building kind node image") {
			t.Fatalf("second up: exit %d: %s", r.code, r.stdout)
		}
		if again := podman(t, "ps", "-q", "--no-trunc", "--filter", "label=io.x-k8s.kind.cluster="+clusters[0]); again != ids {
			t.Errorf("node container changed: %q then %q", ids, again)
		}
		t.Logf("second up: %s", took.Round(time.Millisecond))
	})

	t.Run("destroy leaves nothing behind", func(t *testing.T) {
		if r := labctl(t, l, "", "destroy", "--yes"); r.code != 0 {
			t.Fatalf("destroy: exit %d: %s", r.code, r.stderr)
		}
		for _, c := range clusters {
			if out := podman(t, "ps", "-a", "-q", "--filter", "label=io.x-k8s.kind.cluster="+c); strings.TrimSpace(out) != "" {
				t.Errorf("containers of %s left: %s", c, out)
			}
			if out := podman(t, "volume", "ls", "-q", "--filter", "label="+c+"-control-plane"); strings.TrimSpace(out) != "" {
				t.Errorf("volumes of %s left: %s", c, out)
			}
		}
		if exec.Command("podman", "network", "exists", network).Run() == nil {
			t.Errorf("network %s left", network)
		}
	})
}

// findKubectl is the kubectl labctl built into its artifact cache.
func findKubectl(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("kubectl"); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	dir := os.Getenv("LABCTL_ARTIFACTS_DIR")
	if dir == "" {
		dir = filepath.Join(home, ".cache", "labctl", "artifacts")
	}
	m, _ := filepath.Glob(filepath.Join(dir, "*", "bin", "kubectl"))
	if len(m) == 0 {
		t.Fatalf("no kubectl on PATH or in %s", dir)
	}
	return m[0]
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
	return string(out)
}

// TestKindPackages: `kubernetes.source: packages` in kind mode uses kind's
// own kindest/node image. Offline (this machine) the pull fails: up says so
// in one line, naming the image and what to do, and creates nothing. Where
// a registry is reachable, the cluster comes up Ready from that image.
func TestKindPackages(t *testing.T) {
	needE2E(t)
	l := newLab(t, "e2e-kindpkg", "attendees: 1\nprovider: {type: kind}\nkubernetes: {source: packages}\n")
	cluster := "labctl-" + l.name + "-01"
	r := labctl(t, l, "", "up")
	if r.code == 0 {
		kc := kind.KubeconfigPath(l.state, 1)
		out := run(t, findKubectl(t), "--kubeconfig", kc, "get", "nodes", "--no-headers")
		if !regexp.MustCompile(`(?m)^node1\s+Ready\s`).MatchString(out) {
			t.Fatalf("the kindest/node cluster is not Ready: %s", out)
		}
		t.Log("a registry was reachable: the cluster runs kind's own node image")
		return
	}
	want := "kind's node image docker.io/kindest/node:v1.34.4 cannot be pulled"
	if !strings.Contains(r.stderr, want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("want one line saying %q, got:\n%s", want, r.stderr)
	}
	if out, _ := exec.Command("podman", "ps", "-a", "-q", "--filter", "name="+cluster).Output(); len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("a failed pull left a container behind: %s", out)
	}
	if exec.Command("podman", "network", "exists", "labctl-kind-"+l.name).Run() == nil {
		t.Error("a failed pull left the lab's network behind")
	}
}
