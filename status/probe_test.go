package status

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/kube/kubefake"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

func node(name string, ready corev1.ConditionStatus, cordoned bool) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{Unschedulable: cordoned}}
	if ready != "" {
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: ready}}
	}
	return n
}

// Three Ready nodes, and a mix: Ready, NotReady, cordoned (still Ready),
// Unknown (node lost), and one whose kubelet has not reported yet.
var (
	nodesAllReady = []runtime.Object{node("node1", corev1.ConditionTrue, false), node("node2", corev1.ConditionTrue, false), node("node3", corev1.ConditionTrue, false)}
	nodesMixed    = []runtime.Object{node("node1", corev1.ConditionTrue, false), node("node2", corev1.ConditionFalse, false), node("node3", corev1.ConditionTrue, true), node("node4", corev1.ConditionUnknown, false), node("node5", "", false)}
)

func TestCountNodes(t *testing.T) {
	for _, tc := range []struct {
		objs            []runtime.Object
		registered, rdy int
	}{
		{nodesAllReady, 3, 3},
		{nodesMixed, 5, 2},
		{nil, 0, 0},
	} {
		var nodes []corev1.Node
		for _, o := range tc.objs {
			nodes = append(nodes, *o.(*corev1.Node))
		}
		registered, rdy := CountNodes(nodes)
		if registered != tc.registered || rdy != tc.rdy {
			t.Errorf("CountNodes(%d nodes) = %d registered, %d ready; want %d, %d", len(nodes), registered, rdy, tc.registered, tc.rdy)
		}
	}
}

// blocking is a node that never answers: its Run returns only when the
// context ends, or, when deaf, not even then (a wedged connection).
type blocking struct {
	*remote.Fake
	deaf chan struct{}
}

func (b *blocking) Run(ctx context.Context, _ remote.Command) (remote.Result, error) {
	if b.deaf != nil {
		<-b.deaf
		return remote.Result{}, errors.New("released")
	}
	<-ctx.Done()
	return remote.Result{}, ctx.Err()
}

type class struct {
	st    *lab.State
	execs map[string]remote.Executor

	mu       sync.Mutex
	apis     map[int]*kube.Client // the API server of each cluster that has one
	connects map[int]int          // how many clients each cluster got
}

func newClass(clusters, nodes int) *class {
	c := &class{st: &lab.State{Version: lab.StateVersion}, execs: map[string]remote.Executor{}, apis: map[int]*kube.Client{}, connects: map[int]int{}}
	for i := 1; i <= clusters; i++ {
		cl := lab.Cluster{Index: i, Login: lab.Login{User: "k8s", Password: fmt.Sprintf("secret-pw-%02d", i)}}
		for n := 1; n <= nodes; n++ {
			cl.Nodes = append(cl.Nodes, lab.Node{Name: fmt.Sprintf("node%d", n), PublicAddress: fmt.Sprintf("203.0.113.%d", 10*i+n)})
		}
		c.st.Clusters = append(c.st.Clusters, cl)
	}
	return c
}

func (c *class) set(cluster int, node string, x remote.Executor) {
	c.execs[lab.Label(cluster, node)] = x
}
func (c *class) exec(cluster int, node string) remote.Executor {
	return c.execs[lab.Label(cluster, node)]
}

// api gives cluster an API server holding objs.
func (c *class) api(cluster int, objs ...runtime.Object) *fake.Clientset {
	cs := fake.NewClientset(objs...)
	c.apis[cluster] = &kube.Client{Name: lab.Label(cluster, "node1"), Typed: kubefake.Typed(cs)}
	return cs
}

// connect stands for kube.Connect: the cluster's fake API server, or the
// error a tunnel to a down one gets.
func (c *class) connect(_ context.Context, cl lab.Cluster, x1 remote.Executor) (*kube.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.connects[cl.Index]++
	if x1 == nil || x1.Name() != lab.Label(cl.Index, "node1") {
		return nil, fmt.Errorf("connect through %v, want node1", x1)
	}
	if api := c.apis[cl.Index]; api != nil {
		return api, nil
	}
	return nil, fmt.Errorf("%s: ssh tunnel to 10.0.%d.1:6443: connect: connection refused", x1.Name(), cl.Index)
}

// answering is a node that answers the ping, and on node1 the kubeadm
// probe (kubeadm: whether kubeadm set it up).
func answering(label string, kubeadm bool) *remote.Fake {
	f := remote.NewFake(label).On(`^true$`, "", 0)
	if kubeadm {
		f.On(`admin\.conf`, hasKubeadm+"\nlabctl-status:sessions 1 2 3\n", 0)
	}
	return f
}

// probeWithin runs Probe and fails the test if it has not returned in
// limit: a probe that waits on a dead node forever is the bug this catches.
func probeWithin(t *testing.T, c *class, o Options, limit time.Duration) []Row {
	t.Helper()
	done := make(chan []Row, 1)
	if o.Connect == nil {
		o.Connect = c.connect
	}
	go func() { done <- Probe(context.Background(), c.st, c.exec, o) }()
	select {
	case rows := <-done:
		return rows
	case <-time.After(limit):
		t.Fatalf("Probe still running after %s with a %s timeout", limit, o.Timeout)
		return nil
	}
}

func TestProbe(t *testing.T) {
	c := newClass(4, 3)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	// Cluster 1: healthy, every phase done.
	c.set(1, "node1", answering("01/node1", true))
	c.set(1, "node2", answering("01/node2", false))
	c.set(1, "node3", answering("01/node3", false))
	c.api(1, nodesAllReady...)
	c.st.Clusters[0].SetPhase("kubeadm", lab.PhaseResult{OK: true, At: now.Add(-50 * time.Minute)})
	c.st.Clusters[0].SetPhase(PhaseAddons, lab.PhaseResult{OK: true, At: now.Add(-40 * time.Minute)})
	c.st.Clusters[0].SetPhase(PhaseCoins, lab.PhaseResult{OK: true, At: now.Add(-30 * time.Minute)})
	// Cluster 2: kubeadm has not run; node2's connection is refused; nodeprep
	// failed with a message that quotes the password.
	c.set(2, "node1", remote.NewFake("02/node1").On(`admin\.conf`, noKubeadm+"\n", 0))
	c.set(2, "node2", remote.NewFake("02/node2").OnError(`.`, errors.New("dial tcp 203.0.113.22:22: connect: connection refused")))
	c.set(2, "node3", answering("02/node3", false))
	c.api(2, nodesAllReady...) // never asked: node1 says kubeadm has not run
	c.st.Clusters[1].SetPhase("nodeprep", lab.PhaseResult{OK: false, At: now.Add(-2 * time.Hour), Step: "login", Error: "chpasswd k8s:secret-pw-02 failed"})
	// Cluster 3: node1 hangs until the deadline; node3 is wedged and ignores it.
	deaf := make(chan struct{})
	t.Cleanup(func() { close(deaf) })
	c.set(3, "node1", &blocking{Fake: remote.NewFake("03/node1")})
	c.set(3, "node2", answering("03/node2", false))
	c.set(3, "node3", &blocking{Fake: remote.NewFake("03/node3"), deaf: deaf})
	// Cluster 4: kubeadm ran but its API server is down; node3 has no
	// executor.
	c.set(4, "node1", answering("04/node1", true))
	c.set(4, "node2", answering("04/node2", false))

	timeout := 300 * time.Millisecond
	rows := probeWithin(t, c, Options{Timeout: timeout}, 20*timeout)
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}

	r := rows[0]
	if r.Reachable != 3 || r.Total != 3 || r.Ready == nil || *r.Ready != 3 || Notes(r) != "" {
		t.Errorf("cluster 1: %+v, notes %q", r, Notes(r))
	}
	if r.Addons == nil || !r.Addons.OK || r.Coins == nil || !r.Coins.OK || r.Last == nil || r.Last.Name != PhaseCoins {
		t.Errorf("cluster 1 phases: addons %+v coins %+v last %+v", r.Addons, r.Coins, r.Last)
	}

	r = rows[1]
	if r.Reachable != 2 || r.Ready != nil || r.KubeError != "" {
		t.Errorf("cluster 2: reachable %d, ready %v, kube error %q", r.Reachable, r.Ready, r.KubeError)
	}
	if got := r.Unreachable(); len(got) != 1 || got[0] != "node2" {
		t.Errorf("cluster 2 unreachable %v, want [node2]", got)
	}
	if n := Notes(r); !strings.Contains(n, "node2 unreachable: dial tcp") || !strings.Contains(n, "nodeprep failed at login") || strings.Contains(n, "secret-pw") {
		t.Errorf("cluster 2 notes %q", n)
	}

	r = rows[2]
	if r.Reachable != 1 || r.Ready != nil {
		t.Errorf("cluster 3: reachable %d, ready %v", r.Reachable, r.Ready)
	}
	if want := "node1,node3 unreachable: no answer within 300ms, nor within 600ms on a second try"; Notes(r) != want {
		t.Errorf("cluster 3 notes %q, want %q", Notes(r), want)
	}

	r = rows[3]
	if r.Reachable != 2 || r.Ready != nil || r.KubeError != "node1: api: 04/node1: ssh tunnel to 10.0.4.1:6443: connect: connection refused" {
		t.Errorf("cluster 4: reachable %d, ready %v, kube error %q", r.Reachable, r.Ready, r.KubeError)
	}
	if !strings.Contains(Notes(r), "node3 unreachable: no way to reach it") {
		t.Errorf("cluster 4 notes %q", Notes(r))
	}

	var table bytes.Buffer
	if err := Render(&table, rows, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(table.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("table has %d lines, want a header and 4 rows:\n%s", len(lines), table.String())
	}
	for i, want := range []string{
		"01  3/3  3/3  -  ok  ok  2 web, 2 ssh  coins ok (30m ago)",
		"02  2/3  -  -  -  -  -  nodeprep FAILED (2h ago)  node2 unreachable",
		"03  1/3  -  -  -  -  -  -  node1,node3 unreachable: no answer within 300ms, nor within 600ms on a second try",
		"04  2/3  -  -  -  -  2 web, 2 ssh  -  node3 unreachable",
	} {
		if got := spaces.ReplaceAllString(lines[i+1], "  "); !strings.HasPrefix(got, want) {
			t.Errorf("row %d:\n got %q\nwant prefix %q", i+1, got, want)
		}
	}

	var js bytes.Buffer
	if err := WriteJSON(&js, rows); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(js.String(), "secret-pw") {
		t.Errorf("JSON holds a password:\n%s", js.String())
	}
	if !strings.Contains(js.String(), `"ready": null`) || !strings.Contains(js.String(), `"ready": 3`) {
		t.Errorf("JSON lacks the ready counts:\n%s", js.String())
	}
	// One client per cluster whose node1 said kubeadm ran; none for the others.
	if c.connects[1] != 1 || c.connects[4] != 1 || c.connects[2] != 0 || c.connects[3] != 0 {
		t.Errorf("clients per cluster: %v", c.connects)
	}
}

var spaces = regexp.MustCompile(` {2,}`)

// One command per node; the nodes are counted by the API server, through
// one client, with the health round on the same client.
func TestProbeCommands(t *testing.T) {
	c := newClass(1, 2)
	n1, n2 := answering("01/node1", true), answering("01/node2", false)
	c.set(1, "node1", n1)
	c.set(1, "node2", n2)
	cs := c.api(1, nodesMixed...)
	rows := probeWithin(t, c, Options{Timeout: time.Second}, 10*time.Second)
	if calls := n1.Calls(); len(calls) != 1 || calls[0] != Node1Command("k8s") {
		t.Errorf("node1 ran %q, want only the kubeadm probe", calls)
	}
	if r := rows[0]; r.Registered == nil || *r.Registered != 5 || r.Ready == nil || *r.Ready != 2 || r.KubeError != "" {
		t.Errorf("row %+v", r)
	}
	var verbs []string
	for _, a := range cs.Actions() {
		verbs = append(verbs, a.GetVerb()+" "+a.GetResource().Resource)
	}
	if !slices.Equal(verbs, []string{"list nodes"}) {
		t.Errorf("API calls %v, want one list of nodes", verbs)
	}
	if calls := n2.Calls(); len(calls) != 1 || calls[0] != PingCommand {
		t.Errorf("node2 ran %q, want only the ping", calls)
	}
}

func TestWatch(t *testing.T) {
	for _, tty := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		var mu sync.Mutex
		frames := 0
		var out bytes.Buffer
		err := Watch(ctx, &out, time.Millisecond, tty, func(context.Context) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			frames++
			if frames == 3 {
				cancel() // Ctrl-C during the third probe
			}
			return []byte(fmt.Sprintf("frame %d\nline two\n", frames)), nil
		})
		if err != nil {
			t.Fatalf("tty=%v: Watch after Ctrl-C returned %v, want nil", tty, err)
		}
		s := out.String()
		if strings.Contains(s, "frame 3") || !strings.Contains(s, "frame 2") {
			t.Errorf("tty=%v: want frames 1 and 2 only, got %q", tty, s)
		}
		if got := strings.Count(s, "\x1b[H"); tty && got != 2 || !tty && got != 0 {
			t.Errorf("tty=%v: %d cursor-home sequences in %q", tty, got, s)
		}
		if tty && !strings.HasPrefix(s, "\x1b[2J\x1b[Hframe 1\x1b[K\nline two\x1b[K\n\x1b[J") {
			t.Errorf("tty frame drawn as %q", s)
		}
	}
	wantErr := errors.New("no state")
	err := Watch(context.Background(), &bytes.Buffer{}, time.Millisecond, false, func(context.Context) ([]byte, error) { return nil, wantErr })
	if !errors.Is(err, wantErr) {
		t.Errorf("Watch returned %v, want the frame's error", err)
	}
}

func TestAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		40 * time.Second: "40s ago", 3 * time.Minute: "3m ago", 5 * time.Hour: "5h ago", 72 * time.Hour: "3d ago", -time.Second: "just now",
	} {
		if got := Age(d); got != want {
			t.Errorf("Age(%s) = %q, want %q", d, got, want)
		}
	}
}

// lateOnce is a node whose first handshake is slower than the timeout
// (a busy machine), and whose second answers at once.
type lateOnce struct {
	*remote.Fake
	calls atomic.Int32
}

func (l *lateOnce) Run(ctx context.Context, cmd remote.Command) (remote.Result, error) {
	if l.calls.Add(1) == 1 {
		<-ctx.Done()
		return remote.Result{}, ctx.Err()
	}
	return l.Fake.Run(ctx, cmd)
}

// Every node is up, but a third of them are late in the first round: the
// second chance hears them, and no node is called unreachable.
func TestProbeGivesLateNodesASecondChance(t *testing.T) {
	c := newClass(10, 3)
	var late []*lateOnce
	for i := 1; i <= 10; i++ {
		for n := 1; n <= 3; n++ {
			name := fmt.Sprintf("node%d", n)
			f := answering(lab.Label(i, name), n == 1)
			if (i+n)%3 == 0 {
				l := &lateOnce{Fake: f}
				late = append(late, l)
				c.set(i, name, l)
				continue
			}
			c.set(i, name, f)
		}
	}
	rows := probeWithin(t, c, Options{Timeout: 100 * time.Millisecond, Parallel: 50}, 10*time.Second)
	for _, r := range rows {
		if r.Reachable != 3 {
			t.Errorf("cluster %d: %d of 3 reachable: %s", r.Cluster, r.Reachable, Notes(r))
		}
	}
	for _, l := range late {
		if n := l.calls.Load(); n != 2 {
			t.Errorf("%s asked %d times, want 2", l.Name(), n)
		}
	}
}
