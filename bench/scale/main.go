// Command scale measures labctl on a class-sized lab: an inventory lab of
// C clusters × N nodes, each node a real OpenSSH server on its own
// loopback address (16 per sshd process), side by side with parallel-ssh
// where it applies, without and then with a bounded CPU load.
//
//	go run ./bench/scale -clusters 100 -nodes 4
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/labctl/labctl/bench/internal/benchlab"
	"github.com/labctl/labctl/internal/testenv"
)

func main() {
	clusters := flag.Int("clusters", 100, "attendee clusters")
	nodes := flag.Int("nodes", 4, "nodes per cluster")
	rounds := flag.Int("rounds", 3, "runs of exec and parallel-ssh per condition (median)")
	load := flag.Int("load", 4, "spinning threads for the loaded half (0: unloaded only)")
	port := flag.Int("port", 2322, "port of every sshd")
	out := flag.String("out", "bench/results/scale.md", "results file")
	only := flag.String("only", "", "measure only these (comma-separated: exec, status, cards); the first up always runs")
	flag.Parse()
	measured = func(what string) bool { return *only == "" || strings.Contains(","+*only+",", ","+what+",") }
	if err := run(*clusters, *nodes, *rounds, *load, *port, *out); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

// row is one measured command under one condition.
type row struct {
	cond, what       string
	wall, cpu        time.Duration
	serversCPU       time.Duration // the sshd farm's, during the command
	rssMB            float64
	failed           int // hosts reported failed or unreachable
	note, loadBefore string
}

type bench struct {
	bin, labFile, hostsFile, key string
	hosts                        int
	env                          []string
	farm                         *testenv.Farm
	rows                         []row
}

func run(clusters, nodes, rounds, load, port int, out string) error {
	if _, err := exec.LookPath("parallel-ssh"); err != nil {
		return fmt.Errorf("parallel-ssh not found (apt-get install pssh)")
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "labctl-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{hosts: clusters * nodes}
	key, pub, err := benchlab.KeyPair(dir)
	if err != nil {
		return err
	}
	b.key = key
	farm, err := testenv.StartFarm(ctx, dir, b.hosts, port, pub)
	if err != nil {
		return err
	}
	defer farm.Stop()
	b.farm = farm
	if b.bin, err = benchlab.Build(dir); err != nil {
		return err
	}
	var lab, hostList strings.Builder
	fmt.Fprintf(&lab, "name: scale\nattendees: %d\nnodesPerCluster: %d\nkubernetes: {cni: bridge}\nprovider:\n  type: inventory\n  clusters:\n", clusters, nodes)
	for c := 0; c < clusters; c++ {
		var hs []string
		for n := 0; n < nodes; n++ {
			a := farm.Addrs[c*nodes+n]
			h, p, _ := strings.Cut(a, ":")
			hs = append(hs, fmt.Sprintf("{address: %s, port: %s}", h, p))
			fmt.Fprintln(&hostList, a)
		}
		fmt.Fprintf(&lab, "    - [%s]\n", strings.Join(hs, ", "))
	}
	fmt.Fprintf(&lab, "ssh: {user: root, identityFile: %s}\n", b.key)
	b.labFile, b.hostsFile = filepath.Join(dir, "lab.yaml"), filepath.Join(dir, "hosts")
	os.WriteFile(b.labFile, []byte(lab.String()), 0o600)
	os.WriteFile(b.hostsFile, []byte(hostList.String()), 0o600)
	fmt.Printf("%d hosts on %d sshd processes\n", b.hosts, farm.Processes())

	conds := []string{"unloaded"}
	if load > 0 {
		conds = append(conds, fmt.Sprintf("loaded (%d spinning threads)", load))
	}
	for i, cond := range conds {
		b.env = append(os.Environ(), "SSH_AUTH_SOCK=", "LABCTL_STATE_DIR="+filepath.Join(dir, fmt.Sprintf("state%d", i)))
		if i > 0 {
			stop := testenv.CPULoad(load, 15*time.Minute) // stops by itself
			time.Sleep(20 * time.Second)                  // let the load average climb
			err = b.measure(cond, rounds)
			stop()
		} else {
			err = b.measure(cond, rounds)
		}
		if err != nil {
			return err
		}
	}
	return b.write(out, clusters, nodes, rounds, load)
}

// measured says whether a command is measured in this run.
var measured = func(string) bool { return true }

var reachable = regexp.MustCompile(`(\d+) of (\d+) nodes reachable`)
var answered = regexp.MustCompile(`(\d+) of (\d+) nodes answered\n\s+done in (\S+)`)
var execSummary = regexp.MustCompile(`---- (\d+) ok, (\d+) failed`)

func (b *bench) measure(cond string, rounds int) error {
	labctl := func(args ...string) []string { return append([]string{b.bin, "-f", b.labFile}, args...) }
	// A first up records the nodes and pins their keys; the second finds
	// nothing to do but its probe round (the SSH part of a no-op up).
	ups := []string{"up --only provision (first)", "up --only provision (no-op)"}
	if !measured("up") {
		ups = ups[:1]
	}
	for _, what := range ups {
		r, o, err := b.time(labctl("up", "--only", "provision"))
		if err != nil && !strings.Contains(o, "reachable") {
			return fmt.Errorf("%s: %v: %s", what, err, o)
		}
		if m := reachable.FindStringSubmatch(o); m != nil {
			r.failed = atoi(m[2]) - atoi(m[1])
		}
		if m := answered.FindStringSubmatch(o); m != nil {
			r.note = "probe round " + m[3]
		}
		b.add(cond, what, r)
	}
	var ex, ps []row
	for i := 0; i < rounds && measured("exec"); i++ {
		r, o, _ := b.time(labctl("exec", "--", "true"))
		if m := execSummary.FindStringSubmatch(o); m != nil {
			r.failed = atoi(m[2])
		} else {
			return fmt.Errorf("exec: %s", lastLines(o, 5))
		}
		ex = append(ex, r)
		r, o, _ = b.time([]string{"parallel-ssh", "-h", b.hostsFile, "-l", "root", "-p", "100", "-t", "120",
			"-x", "-i " + b.key + " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o IdentitiesOnly=yes", "true"})
		r.failed = strings.Count(o, "[FAILURE]")
		ps = append(ps, r)
	}
	if len(ex) > 0 {
		b.add(cond, "exec -- true", median(ex))
		b.add(cond, "parallel-ssh -p 100 true", median(ps))
	}
	if measured("status") {
		if err := b.status(cond, labctl("status", "--json")); err != nil {
			return err
		}
	}
	if !measured("cards") {
		return nil
	}
	r, o, err := b.time(labctl("cards"))
	if err != nil {
		return fmt.Errorf("cards: %v: %s", err, lastLines(o, 5))
	}
	b.add(cond, "cards", r)
	return nil
}

func (b *bench) status(cond string, argv []string) error {
	r, o, err := b.time(argv)
	if err != nil {
		return fmt.Errorf("status: %v: %s", err, lastLines(o, 5))
	}
	var rows []struct{ Reachable, Total int }
	if err := json.Unmarshal([]byte(o[:strings.LastIndexByte(o, ']')+1]), &rows); err != nil {
		return fmt.Errorf("status --json: %v", err)
	}
	for _, x := range rows {
		r.failed += x.Total - x.Reachable
	}
	b.add(cond, "status", r)
	return nil
}

func (b *bench) add(cond, what string, r row) {
	r.cond, r.what = cond, what
	fmt.Printf("%-32s %-28s %8s  sshd cpu %7s  cpu %7s  rss %4.0f MB  failed %d  %s  (load %s)\n", cond, what, r.wall.Round(time.Millisecond), r.serversCPU, r.cpu.Round(time.Millisecond), r.rssMB, r.failed, r.note, r.loadBefore)
	b.rows = append(b.rows, r)
}

// time runs argv once: wall time, CPU time, max RSS, combined output.
func (b *bench) time(argv []string) (row, string, error) {
	r := row{loadBefore: testenv.LoadAverage()}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = b.env
	cmd.Dir = filepath.Dir(b.labFile) // cards writes its file here
	start, cpu0 := time.Now(), b.farm.CPU()
	o, err := cmd.CombinedOutput()
	r.wall = time.Since(start)
	time.Sleep(500 * time.Millisecond) // the servers reap the connections just closed
	r.serversCPU = b.farm.CPU() - cpu0
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rssMB = float64(ru.Maxrss) / 1024
		r.cpu = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
	}
	return r, string(o), err
}

func median(rs []row) row {
	sort.Slice(rs, func(i, j int) bool { return rs[i].wall < rs[j].wall })
	m := rs[len(rs)/2]
	for _, r := range rs {
		m.failed = max(m.failed, r.failed)
		m.rssMB = max(m.rssMB, r.rssMB)
	}
	return m
}

func (b *bench) write(path string, clusters, nodes, rounds, load int) error {
	var s strings.Builder
	fmt.Fprintf(&s, "# A class from one laptop: labctl at %d hosts\n\n", b.hosts)
	fmt.Fprintf(&s, "Measured %s on %s/%s, %d CPUs, shared with other developers' builds and labs.\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	fmt.Fprintf(&s, "An inventory lab of %d clusters × %d nodes, each node a real OpenSSH server on its own loopback\n", clusters, nodes)
	fmt.Fprintf(&s, "address (%d per sshd process), each command a fresh process (cold connections).\n", testenv.AddrsPerSSHD)
	fmt.Fprintf(&s, "exec and parallel-ssh: median of %d runs each, alternating. Loaded: %d goroutines spinning on their own\n", rounds, load)
	fmt.Fprintf(&s, "threads in the bench process (testenv.CPULoad, stops by itself). Reproduce:\n`go run ./bench/scale -clusters %d -nodes %d -rounds %d -load %d`\n\n", clusters, nodes, rounds, load)
	fmt.Fprintf(&s, "| condition | command | wall | client CPU | servers' CPU (sshd, shells) | max RSS | hosts failed | load avg before | note |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range b.rows {
		fmt.Fprintf(&s, "| %s | %s | %s | %s | %s | %.0f MB | %d | %s | %s |\n", r.cond, r.what, r.wall.Round(time.Millisecond), r.cpu.Round(time.Millisecond), r.serversCPU, r.rssMB, r.failed, r.loadBefore, r.note)
	}
	s.WriteString("\n| condition | parallel-ssh -p 100 / labctl exec |\n|---|---|\n")
	for i := range b.rows {
		if b.rows[i].what == "exec -- true" && i+1 < len(b.rows) {
			fmt.Fprintf(&s, "| %s | %.1fx |\n", b.rows[i].cond, float64(b.rows[i+1].wall)/float64(b.rows[i].wall))
		}
	}
	fmt.Print(s.String())
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(s.String()), 0o644)
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}
