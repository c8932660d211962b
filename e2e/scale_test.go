package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/internal/testenv"
	"github.com/labctl/labctl/remote"
)

// TestClassAtScale drives an inventory lab of 100 clusters × 4 nodes, each
// node a real OpenSSH server on its own loopback address (25 sshd
// processes), while spinning goroutines keep the CPUs busy: every node is
// reached (no host declared unreachable because the machine is slow), and
// the three servers the test then stops are named, each within its
// connection budget. No Kubernetes: no e2e lock needed, but it is CPU
// heavy; LABCTL_SCALE=CxN runs a smaller class.
func TestClassAtScale(t *testing.T) {
	needE2E(t)
	clusters, nodes := 100, 4
	if s := os.Getenv("LABCTL_SCALE"); s != "" {
		if _, err := fmt.Sscanf(s, "%dx%d", &clusters, &nodes); err != nil || clusters < 3 || nodes < 1 {
			t.Fatalf("LABCTL_SCALE=%q: want CxN, at least 3 clusters", s)
		}
	}
	hosts := clusters * nodes
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	if b, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, b)
	}
	pub, _ := os.ReadFile(key + ".pub")
	farm, err := testenv.StartFarm(ctx, dir, hosts, 2422, strings.TrimSpace(string(pub)))
	if err != nil {
		t.Fatal(err)
	}
	defer farm.Stop()
	labFile := filepath.Join(dir, "lab.yaml")
	var lab strings.Builder
	fmt.Fprintf(&lab, "name: scale\nattendees: %d\nnodesPerCluster: %d\nkubernetes: {cni: bridge}\nprovider:\n  type: inventory\n  clusters:\n", clusters, nodes)
	for c := 0; c < clusters; c++ {
		var hs []string
		for n := 0; n < nodes; n++ {
			h, p, _ := strings.Cut(farm.Addrs[c*nodes+n], ":")
			hs = append(hs, fmt.Sprintf("{address: %s, port: %s}", h, p))
		}
		fmt.Fprintf(&lab, "    - [%s]\n", strings.Join(hs, ", "))
	}
	fmt.Fprintf(&lab, "ssh: {user: root, identityFile: %s}\n", key)
	if err := os.WriteFile(labFile, []byte(lab.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) result {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, append([]string{"-f", labFile}, args...)...)
		cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=", "LABCTL_STATE_DIR="+filepath.Join(dir, "state"))
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		start := time.Now()
		err := cmd.Run()
		r := result{stdout: out.String(), stderr: errOut.String(), code: cmd.ProcessState.ExitCode()}
		t.Logf("labctl %s: exit %d in %s, load average %s", strings.Join(args, " "), r.code, time.Since(start).Round(time.Millisecond), testenv.LoadAverage())
		if err != nil && r.code == 0 {
			t.Fatalf("labctl %v: %v", args, err)
		}
		return r
	}

	// Twice as many spinning threads as CPUs, for at most 5 minutes.
	stop := testenv.CPULoad(4, 5*time.Minute)
	defer stop()
	time.Sleep(5 * time.Second) // let the load average climb
	r := run("up", "--only", "provision")
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("%d of %d nodes reachable", hosts, hosts)) {
		t.Fatalf("up under load: exit %d, want every node reachable:\n%s\n%s", r.code, lastLines(r.stdout, 30), r.stderr)
	}
	r = run("exec", "--", "true")
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("---- %d ok, 0 failed", hosts)) {
		t.Fatalf("exec under load: exit %d, want every host ok:\n%s\n%s", r.code, lastLines(r.stdout, 30), r.stderr)
	}

	// Three nodes go down, in three different sshd processes.
	down := map[string]string{} // label -> address
	for _, i := range []int{1, hosts / 2, hosts - 1} {
		down[fmt.Sprintf("%02d/node%d", i/nodes+1, i%nodes+1)] = farm.Addrs[i]
	}
	var addrs []string
	for _, a := range down {
		addrs = append(addrs, a)
	}
	if err := farm.StopHosts(addrs...); err != nil {
		t.Fatal(err)
	}
	r = run("exec", "--", "true")
	if r.code != 1 || !strings.Contains(r.stdout, fmt.Sprintf("---- %d ok, 3 failed", hosts-3)) {
		t.Fatalf("exec with 3 nodes down: exit %d, want exactly 3 failures:\n%s\n%s", r.code, lastLines(r.stdout, 30), r.stderr)
	}
	budget := remote.BudgetFor(30*time.Second, hosts)
	took := regexp.MustCompile(`cannot connect after \d+ attempts in ([0-9.]+m?[0-9.]*s) \(tcp\): .*connection refused`)
	for label, addr := range down {
		line := lineWith(r.stdout, label+" ")
		m := took.FindStringSubmatch(line)
		if m == nil || !strings.Contains(line, addr) {
			t.Errorf("%s (%s): want it named unreachable with the TCP stage, got %q", label, addr, line)
			continue
		}
		if d, err := time.ParseDuration(m[1]); err != nil || d > budget {
			t.Errorf("%s: given up after %s, budget %s", label, m[1], budget)
		}
	}
}

func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
