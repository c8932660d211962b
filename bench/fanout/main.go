// Command fanout measures labctl's SSH fan-out against parallel-ssh (pssh)
// on the same real OpenSSH servers on loopback, and writes the ratios.
//
//	go run ./bench/fanout -hosts 50,100 -rounds 5
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/labctl/labctl/bench/internal/benchlab"
	"github.com/labctl/labctl/internal/testenv"
)

func main() {
	hostsFlag := flag.String("hosts", "50,100", "host counts to measure")
	rounds := flag.Int("rounds", 5, "runs per tool and host count (the median is reported)")
	parallel := flag.Int("parallel", 100, "parallelism for both tools")
	port := flag.Int("port", 2222, "port of every sshd")
	out := flag.String("out", "bench/results/fanout.md", "results file")
	flag.Parse()
	if err := run(*hostsFlag, *rounds, *parallel, *port, *out); err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
		os.Exit(1)
	}
}

type measure struct {
	tool   string
	hosts  int
	median time.Duration
	rssMB  float64
}

func run(hostsFlag string, rounds, parallel, port int, out string) error {
	ctx := context.Background()
	if _, err := exec.LookPath("parallel-ssh"); err != nil {
		return fmt.Errorf("parallel-ssh not found (apt-get install pssh)")
	}
	var counts []int
	max := 0
	for _, s := range strings.Split(hostsFlag, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("-hosts: %q is not a count", s)
		}
		counts = append(counts, n)
		max = mx(max, n)
	}
	dir, err := os.MkdirTemp("", "labctl-fanout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	key, pub, err := benchlab.KeyPair(dir)
	if err != nil {
		return err
	}
	farm, err := testenv.StartSSHDFarm(ctx, dir, max, port, pub)
	if err != nil {
		return err
	}
	defer testenv.StopSSHDs(farm)

	bin, err := benchlab.Build(dir)
	if err != nil {
		return err
	}
	var results []measure
	for _, n := range counts {
		labDir := filepath.Join(dir, fmt.Sprintf("lab%d", n))
		os.MkdirAll(labDir, 0o700)
		labFile := filepath.Join(labDir, "lab.yaml")
		hostsFile := filepath.Join(labDir, "hosts")
		var lab, hosts strings.Builder
		fmt.Fprintf(&lab, "name: fanout%d\nattendees: %d\nnodesPerCluster: 1\nkubernetes: {cni: bridge}\nprovider:\n  type: inventory\n  clusters:\n", n, n)
		for _, s := range farm[:n] {
			h, p, _ := strings.Cut(s.Addr, ":")
			fmt.Fprintf(&lab, "    - [{address: %s, port: %s}]\n", h, p)
			fmt.Fprintf(&hosts, "%s\n", s.Addr)
		}
		fmt.Fprintf(&lab, "ssh: {user: root, identityFile: %s, parallel: %d}\n", key, parallel)
		os.WriteFile(labFile, []byte(lab.String()), 0o600)
		os.WriteFile(hostsFile, []byte(hosts.String()), 0o600)
		env := append(os.Environ(), "SSH_AUTH_SOCK=", "LABCTL_STATE_DIR="+filepath.Join(labDir, "state"))
		// Records the nodes and pins their host keys, as an instructor's first up does.
		up := exec.Command(bin, "-f", labFile, "up", "--only", "provision")
		up.Env = env
		if b, err := up.CombinedOutput(); err != nil {
			return fmt.Errorf("labctl up: %v: %s", err, b)
		}
		labctl := []string{bin, "-f", labFile, "exec", "--", "true"}
		pssh := []string{"parallel-ssh", "-h", hostsFile, "-l", "root", "-p", strconv.Itoa(parallel), "-t", "60",
			"-x", "-i " + key + " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o IdentitiesOnly=yes", "true"}
		for _, tool := range []struct {
			name string
			argv []string
		}{{"labctl exec", labctl}, {"parallel-ssh", pssh}} {
			m, err := timeIt(tool.argv, env, rounds)
			if err != nil {
				return fmt.Errorf("%s on %d hosts: %w", tool.name, n, err)
			}
			m.tool, m.hosts = tool.name, n
			fmt.Printf("%-13s %4d hosts: median %7s  max RSS %.0f MB\n", m.tool, n, m.median.Round(time.Millisecond), m.rssMB)
			results = append(results, m)
		}
	}
	return write(out, results, hostsFlag, rounds, parallel)
}

// timeIt runs argv rounds times and returns the median wall time and the
// largest resident set size of the process.
func timeIt(argv, env []string, rounds int) (measure, error) {
	var times []time.Duration
	var rss int64
	for i := 0; i < rounds; i++ {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		start := time.Now()
		b, err := cmd.CombinedOutput()
		took := time.Since(start)
		if err != nil {
			return measure{}, fmt.Errorf("%v: %s", err, tailLines(string(b), 5))
		}
		times = append(times, took)
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = mx64(rss, ru.Maxrss)
		}
	}
	return measure{median: benchlab.Median(times), rssMB: float64(rss) / 1024}, nil
}

func write(path string, rs []measure, hosts string, rounds, parallel int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# SSH fan-out: labctl exec vs parallel-ssh\n\n")
	fmt.Fprintf(&b, "Measured %s on %s/%s, %d CPUs. One short command (`true`) on N real OpenSSH\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Fprintf(&b, "servers on loopback, parallelism %d for both, each a fresh process (cold connections),\n", parallel)
	fmt.Fprintf(&b, "median of %d runs. Reproduce: `go run ./bench/fanout -hosts %s -rounds %d -parallel %d`\n", rounds, hosts, rounds, parallel)
	fmt.Fprintf(&b, "The servers run in their own mount namespace with the login shell's ~/.bashrc hidden\n(here it ran `pyenv init`, which otherwise dominates both tools).\n\n")
	fmt.Fprintf(&b, "| hosts | labctl exec | parallel-ssh | pssh / labctl | labctl max RSS | pssh max RSS |\n|---|---|---|---|---|---|\n")
	for i := 0; i+1 < len(rs); i += 2 {
		l, p := rs[i], rs[i+1]
		fmt.Fprintf(&b, "| %d | %s | %s | %.1fx | %.0f MB | %.0f MB |\n", l.hosts, l.median.Round(time.Millisecond), p.median.Round(time.Millisecond),
			float64(p.median)/float64(l.median), l.rssMB, p.rssMB)
	}
	fmt.Fprintf(&b, "\nTargets (quality.md): labctl >= 2x faster than pssh; labctl RSS < 150 MB driving 100 hosts.\n")
	fmt.Print(b.String())
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func mx(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func mx64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
