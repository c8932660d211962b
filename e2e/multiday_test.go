package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The multi-day checks (labctl stop / start) run on TestReset's 2 × 2 lab
// with DockerCoins, once its reset cases are done: see multiDay.

// attendeeDay1 is what an attendee leaves on a cluster at the end of a day.
const attendeeDay1 = `kubectl create namespace day1 && kubectl -n day1 create configmap notes --from-literal=slide=42 && echo day1 > ~/day1.txt && echo made=yes`

// attendeeDay2 checks it the next morning.
const attendeeDay2 = `kubectl -n day1 get configmap notes -o jsonpath='slide={.data.slide}'; echo; cat ~/day1.txt`

// coinsCounter is DockerCoins' count of units of work, from Redis.
func coinsCounter(t *testing.T, node1 string) int {
	t.Helper()
	var last string
	for i := 0; i < 30; i++ {
		out, err := podmanExec(node1, "kubectl --kubeconfig /etc/kubernetes/admin.conf -n dockercoins exec deploy/redis -- redis-cli get hashes")
		if n, cerr := strconv.Atoi(strings.TrimSpace(out)); err == nil && cerr == nil {
			return n
		}
		last = out
		time.Sleep(2 * time.Second)
	}
	t.Fatalf("%s: DockerCoins' counter: %s", node1, last)
	return 0
}

// etcdNow is the ID of node1's running etcd container.
func etcdNow(t *testing.T, node1 string) string {
	t.Helper()
	out, err := podmanExec(node1, `KUBECONFIG=/etc/kubernetes/admin.conf kubectl -n kube-system get pod etcd-node1 -o jsonpath='{.status.containerStatuses[0].containerID}'`)
	if err != nil || out == "" {
		t.Fatalf("%s: etcd's container: %v %s", node1, err, out)
	}
	return strings.TrimSpace(out)
}

// etcdEnded says how the etcd container that ran before (id) ended, as
// kubelet reports it after the start (its lastState): "0 Completed" for a
// clean exit after SIGTERM, "255 Unknown" when the machine stopped under it;
// and what the running etcd's log says about repairing its WAL (a torn
// write, as after a SIGKILL).
func etcdEnded(t *testing.T, node1, id string) (ended, repair string) {
	t.Helper()
	out, err := podmanExec(node1, `KUBECONFIG=/etc/kubernetes/admin.conf kubectl -n kube-system get pod etcd-node1 -o jsonpath='{.status.containerStatuses[0].lastState.terminated.containerID} {.status.containerStatuses[0].lastState.terminated.exitCode} {.status.containerStatuses[0].lastState.terminated.reason}'; echo; `+
		`grep -h -i -E 'repairing|torn|unexpected EOF' $(ls -t /var/log/pods/kube-system_etcd-*/etcd/*.log | head -1) | head -3`)
	if err != nil {
		t.Fatalf("%s: etcd's last state: %v %s", node1, err, out)
	}
	first, rest, _ := strings.Cut(strings.TrimSpace(out), "\n")
	f := strings.Fields(first)
	if len(f) != 3 || f[0] != id {
		return fmt.Sprintf("not the container that ran before the stop (%s): %q", id, first), rest
	}
	return f[1] + " " + f[2], rest
}

func startedAt(t *testing.T, container string) string {
	t.Helper()
	return strings.TrimSpace(podman(t, "inspect", "--format", "{{.State.StartedAt}} {{.State.Running}}", container))
}

// multiDay stops and starts TestReset's lab as a class would overnight:
// cluster 2 alone first (cluster 1 untouched), then the whole lab, with a
// stop killed half-way and run again. What attendees made, their home
// files and DockerCoins' counter are still there; etcd shut down cleanly.
func multiDay(t *testing.T, l *testLab) {
	nodes := map[int][2]string{}
	for c := 1; c <= 2; c++ {
		nodes[c] = [2]string{containerName(l, c, "node1"), containerName(l, c, "node2")}
		if out, err := podmanExec(nodes[c][0], "su - k8s -c '"+attendeeDay1+"'"); err != nil || !strings.Contains(out, "made=yes") {
			t.Fatalf("cluster %d, as the attendee: %v %s", c, err, out)
		}
	}
	morning := func(t *testing.T, c int, counterBefore int) {
		t.Helper()
		out, err := podmanExec(nodes[c][0], "su - k8s -c \""+attendeeDay2+"\"")
		if err != nil || !strings.Contains(out, "slide=42") || !strings.Contains(out, "day1") {
			t.Errorf("cluster %d: the attendee's ConfigMap or home file is gone: %v %s", c, err, out)
		}
		if n := coinsCounter(t, nodes[c][0]); n < counterBefore {
			t.Errorf("cluster %d: DockerCoins' counter went from %d to %d", c, counterBefore, n)
		} else {
			t.Logf("cluster %d: DockerCoins' counter %d before the stop, %d after the start", c, counterBefore, n)
		}
		attendeeSSH(t, nodes[c][0], "node2")
	}
	healthyAfter := regexp.MustCompile(`cluster (\d\d): healthy (\S+) after start`)

	t.Run("stop and start of cluster 2 alone leave cluster 1 untouched", func(t *testing.T) {
		c1Before := []string{startedAt(t, nodes[1][0]), startedAt(t, nodes[1][1])}
		counter := coinsCounter(t, nodes[2][0])
		etcdBefore := etcdNow(t, nodes[2][0])
		stop := labctl(t, l, "", "stop", "--cluster", "2")
		if stop.code != 0 || !strings.Contains(stop.stdout, "cluster 02: stopped in") || strings.Contains(stop.stdout, "cluster 01") {
			t.Fatalf("stop --cluster 2: exit %d\n%s", stop.code, stop.stdout)
		}
		for _, n := range nodes[2] {
			if s := startedAt(t, n); !strings.HasSuffix(s, "false") {
				t.Errorf("%s still runs: %s", n, s)
			}
		}
		st := labctl(t, l, "", "status")
		if !regexp.MustCompile(`(?m)^02\s+stopped\s`).MatchString(st.stdout) || regexp.MustCompile(`(?m)^01\s+stopped`).MatchString(st.stdout) {
			t.Errorf("status must show cluster 02 (only) as stopped:\n%s", st.stdout)
		}
		start := labctl(t, l, "", "start", "--cluster", "2")
		if start.code != 0 || !healthyAfter.MatchString(start.stdout) || strings.Contains(start.stdout, "cluster 01") {
			t.Fatalf("start --cluster 2: exit %d\n%s", start.code, start.stdout)
		}
		t.Logf("cluster 2: %s", healthyAfter.FindString(start.stdout))
		if after := []string{startedAt(t, nodes[1][0]), startedAt(t, nodes[1][1])}; after[0] != c1Before[0] || after[1] != c1Before[1] {
			t.Errorf("cluster 1's nodes were restarted: %v → %v", c1Before, after)
		}
		// labctl stop stopped etcd before the halt: kubelet says how it ended.
		if ended, repair := etcdEnded(t, nodes[2][0], etcdBefore); ended != "0 Completed" || repair != "" {
			t.Errorf("cluster 2's etcd did not shut down cleanly: it ended %q; its log after the start: %q", ended, repair)
		}
		if !strings.Contains(stop.stdout, "02/node1: etcd stopped cleanly before the halt") {
			t.Errorf("stop does not say it stopped cluster 2's etcd first:\n%s", stop.stdout)
		}
		morning(t, 2, counter)
	})

	t.Run("a stop killed half-way is finished by a re-run; start brings every cluster back healthy", func(t *testing.T) {
		counters := map[int]int{1: coinsCounter(t, nodes[1][0]), 2: coinsCounter(t, nodes[2][0])}
		etcdBefore := etcdNow(t, nodes[1][0])
		killed := labctlWhen(t, l, "halting", func(p *os.Process) { p.Kill() }, "stop")
		if killed.code == 0 {
			t.Fatal("the killed stop exited 0")
		}
		again := labctl(t, l, "", "stop")
		if again.code != 0 || !strings.Contains(again.stdout, "cluster 01: stopped in") || !strings.Contains(again.stdout, "cluster 02: stopped in") {
			t.Fatalf("the re-run stop: exit %d\n%s", again.code, again.stdout)
		}
		for _, c := range []int{1, 2} {
			for _, n := range nodes[c] {
				if s := startedAt(t, n); !strings.HasSuffix(s, "false") {
					t.Errorf("%s still runs: %s", n, s)
				}
			}
		}
		began := time.Now()
		start := labctl(t, l, "", "start")
		if start.code != 0 {
			t.Fatalf("start: exit %d\n%s%s", start.code, start.stdout, start.stderr)
		}
		t.Logf("start to healthy, both clusters: %s (%v)", time.Since(began).Round(time.Second), healthyAfter.FindAllString(start.stdout, -1))
		if got := healthyAfter.FindAllStringSubmatch(start.stdout, -1); len(got) != 2 {
			t.Errorf("start must report both clusters healthy:\n%s", start.stdout)
		}
		// The killed stop had stopped etcd before its halt began.
		if ended, repair := etcdEnded(t, nodes[1][0], etcdBefore); ended != "0 Completed" || repair != "" {
			t.Errorf("cluster 1's etcd did not shut down cleanly: it ended %q; its log after the start: %q", ended, repair)
		}
		for _, c := range []int{1, 2} {
			morning(t, c, counters[c])
		}
		if st := labctl(t, l, "", "status"); st.code != 0 || strings.Contains(st.stdout, "stopped for") {
			t.Errorf("status after the start: exit %d\n%s", st.code, st.stdout)
		}
	})
}

// TestSweep: of two labs under one state root, the one whose end date has
// passed is destroyed by labctl sweep --yes, the other left alone. The
// labs are nodes only (up --only provision): sweep needs no cluster.
func TestSweep(t *testing.T) {
	needE2E(t)
	root := filepath.Join(work, "sweep-root")
	end := time.Now().UTC().Add(90 * time.Second).Truncate(time.Second)
	ending := newLab(t, "e2e-sweep-ending", "attendees: 1\nnodesPerCluster: 1\nendsAt: "+end.Format(time.RFC3339)+"\n")
	later := newLab(t, "e2e-sweep-later", "attendees: 1\nnodesPerCluster: 1\nendsAt: "+time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly)+"\n")
	for _, l := range []*testLab{ending, later} {
		l.state = filepath.Join(root, l.name)
		if r := labctl(t, l, "", "up", "--only", "provision"); r.code != 0 {
			t.Fatalf("up --only provision: exit %d %s", r.code, r.stderr)
		}
	}
	if st := labctl(t, later, "", "status"); !strings.Contains(st.stdout, "class ends ") || !strings.Contains(st.stdout, "left") {
		t.Errorf("status must show the time left:\n%s", st.stdout)
	}
	// Until the class ends, nothing is swept.
	if r := labctl(t, ending, "", "sweep", "--root", root, "--yes"); r.code != 0 || strings.Contains(r.stdout, "destroyed") {
		t.Fatalf("sweep before the end: exit %d\n%s", r.code, r.stdout)
	}
	time.Sleep(time.Until(end.Add(2 * time.Second)))
	if r := labctl(t, ending, "", "up", "--only", "provision"); r.code != 2 || !strings.Contains(r.stderr, "endsAt: the class ended") {
		t.Errorf("up after the end must refuse (exit 2): exit %d %s", r.code, r.stderr)
	}
	dry := labctl(t, ending, "", "sweep", "--root", root)
	if dry.code != 0 || !strings.Contains(dry.stdout, "would be destroyed") {
		t.Errorf("sweep without --yes must list the ended lab: exit %d\n%s", dry.code, dry.stdout)
	}
	r := labctl(t, ending, "", "sweep", "--root", root, "--yes")
	if r.code != 0 || !strings.Contains(r.stdout, ending.name+" ("+ending.state+"): ended") || !strings.Contains(r.stdout, later.name+" ("+later.state+"): ends in") {
		t.Fatalf("sweep: exit %d\n%s", r.code, r.stdout)
	}
	if out, _ := exec.Command("podman", "ps", "-aq", "--filter", "label=labctl.lab="+ending.name).Output(); len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("the ended lab's containers are still there: %s", out)
	}
	if _, err := os.Stat(filepath.Join(ending.state, "state.json")); !os.IsNotExist(err) {
		t.Errorf("the ended lab's state is still there: %v", err)
	}
	if out, _ := exec.Command("podman", "ps", "-q", "--filter", "label=labctl.lab="+later.name).Output(); len(strings.Fields(string(out))) != 1 {
		t.Errorf("the lab still on has lost its node: %q", out)
	}
}
