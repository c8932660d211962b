package board

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/labctl/labctl/check"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/kube/kubefake"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
	"github.com/labctl/labctl/status"
)

// hostile is a context name an attendee (root on node1) wrote into their
// kubeconfig: the page must show it as text.
const hostile = `<img src=x onerror="document.title='pwned'">`

func deploy(name string, ready int32) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Status: appsv1.DeploymentStatus{ReadyReplicas: ready}}
}

// fakeLab is n clusters of fake API servers; hang[i] makes cluster i's
// refresh block until its context ends, as a cluster whose sshd stopped.
type fakeLab struct {
	state   *lab.State
	typed   map[int]*fake.Clientset
	hang    map[int]*atomic.Bool
	connect atomic.Int32
}

func newFakeLab(n int, objs map[int][]runtime.Object) *fakeLab {
	f := &fakeLab{state: &lab.State{}, typed: map[int]*fake.Clientset{}, hang: map[int]*atomic.Bool{}}
	for i := 1; i <= n; i++ {
		f.state.Clusters = append(f.state.Clusters, lab.Cluster{Index: i, Login: lab.Login{User: "k8s", Password: "sekret-pass-" + string(rune('0'+i))},
			Nodes: []lab.Node{{Name: "node1"}, {Name: "node2"}}})
		base := []runtime.Object{readyNode("node1"), readyNode("node2"),
			&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "pingpong-x", CreationTimestamp: metav1.NewTime(time.Now().Add(-time.Duration(i) * time.Minute))}}}
		f.typed[i] = fake.NewClientset(append(base, objs[i]...)...)
		f.hang[i] = &atomic.Bool{}
	}
	return f
}

func (f *fakeLab) board(course *check.Course, o Options) *Board {
	o.Connect = func(ctx context.Context, c lab.Cluster) (*kube.Client, error) {
		f.connect.Add(1)
		return &kube.Client{Name: "fake", Typed: kubefake.Typed(f.typed[c.Index]), Dynamic: dynamicfake.NewSimpleDynamicClient(scheme.Scheme)}, nil
	}
	o.Probe = func(ctx context.Context, c lab.Cluster, connect func(context.Context) (*kube.Client, error)) status.Row {
		if f.hang[c.Index].Load() {
			<-ctx.Done()
			return status.Row{Cluster: c.Index, Total: 2, KubeError: "01/node1: dial: " + ctx.Err().Error()}
		}
		cl, err := connect(ctx)
		if err != nil {
			return status.Row{Cluster: c.Index, KubeError: err.Error()}
		}
		nodes, _ := cl.Typed.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		_, ready := status.CountNodes(nodes.Items)
		return status.Row{Cluster: c.Index, Reachable: 2, Total: 2, Ready: &ready, Health: &status.Health{OK: true}}
	}
	exec := func(cluster int, node string) remote.Executor {
		return remote.NewFake(lab.Label(cluster, node)).On("kube/config", "contexts:\n- name: "+strconv.Quote(hostile)+"\n", 0)
	}
	return New(f.state, course, exec, o)
}

func readyNode(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
}

func course(t *testing.T) *check.Course {
	c, err := check.Parse("test.yaml", []byte(`chapters:
- id: first-deployment
  checks:
  - {id: pingpong, kind: deployment, name: pingpong}
- id: scaling
  checks:
  - {id: pingpong-8, kind: deployment, name: pingpong, replicas: 8}
- id: namespaces
  checks:
  - {id: blue-context, kind: context, context: blue}
`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func views(t *testing.T, url string) []View {
	t.Helper()
	resp, err := http.Get(url + "/state.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v []View
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The board refreshes every cluster over one connection each, marks a
// hanging one within the timeout while the others keep updating, pushes
// events, hides passwords and escapes what clusters said.
func TestBoard(t *testing.T) {
	f := newFakeLab(3, map[int][]runtime.Object{1: {deploy("pingpong", 8)}, 2: {deploy("pingpong", 1)}})
	b := f.board(course(t), Options{Interval: 100 * time.Millisecond, Timeout: 400 * time.Millisecond, Parallel: 2})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.Run(ctx)
	srv := httptest.NewServer(b.Handler(f.state.Secrets()))
	defer srv.Close()

	waitFor(t, "every cluster refreshed", 5*time.Second, func() bool {
		for _, v := range views(t, srv.URL) {
			if v.Error != "" || len(v.Results) != 3 {
				return false
			}
		}
		return true
	})
	v := views(t, srv.URL)
	if !strings.Contains(strings.Join(v[0].Done, ","), "scaling") || strings.Contains(strings.Join(v[1].Done, ","), "scaling") {
		t.Errorf("done: 1 %v, 2 %v", v[0].Done, v[1].Done)
	}
	if r := v[1].Results[1]; r.OK || r.Saw != "deployment pingpong: 1 ready replica, want 8" {
		t.Errorf("cluster 2 pingpong-8: %+v", r)
	}
	if v[0].Password != "hidden" {
		t.Errorf("password shown: %q", v[0].Password)
	}

	// Cluster 3 hangs: marked within the timeout; cluster 1 keeps updating.
	f.hang[3].Store(true)
	before := views(t, srv.URL)[0].Updated
	waitFor(t, "cluster 3 marked timed out", 3*time.Second, func() bool {
		return strings.HasPrefix(views(t, srv.URL)[2].Error, "timed out after 400ms")
	})
	if after := views(t, srv.URL)[0].Updated; !after.After(before) {
		t.Errorf("cluster 1 stopped updating: %s then %s", before, after)
	}
	// One connection per cluster, reused; the hung one is reopened later.
	if n := f.connect.Load(); n != 3 {
		t.Errorf("%d connections opened for 3 clusters", n)
	}

	// Attendee 2 scales: the event stream carries it.
	resp, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); csp != CSP {
		t.Errorf("CSP %q", csp)
	}
	d, _ := f.typed[2].AppsV1().Deployments("default").Get(ctx, "pingpong", metav1.GetOptions{})
	d.Status.ReadyReplicas = 8
	f.typed[2].AppsV1().Deployments("default").UpdateStatus(ctx, d, metav1.UpdateOptions{})
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	deadline := time.Now().Add(5 * time.Second)
	seen := false
	for !seen && time.Now().Before(deadline) && sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var vs []View
		if err := json.Unmarshal([]byte(line), &vs); err != nil {
			t.Fatal(err)
		}
		seen = strings.Contains(strings.Join(vs[1].Done, ","), "scaling")
	}
	if !seen {
		t.Error("no event said cluster 2 finished scaling")
	}

	// What a cluster said is escaped on the detail page; no password.
	page := get(t, srv.URL+"/detail?cluster=1")
	if strings.Contains(page, "<img") || !strings.Contains(page, "&lt;img src=x") || strings.Contains(page, "sekret-pass") {
		t.Errorf("detail page not escaped or shows a password:\n%s", page)
	}
	if !strings.Contains(get(t, srv.URL+"/?chapter=scaling"), `data-check="pingpong-8"`) {
		t.Error("chapter scaling: no pingpong-8 column")
	}
	if r, _ := http.Get(srv.URL + "/?chapter=nope"); r.StatusCode != 404 {
		t.Errorf("unknown chapter: %d", r.StatusCode)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// --show-secrets shows the passwords; without it they are redacted even
// where a cluster quoted one.
func TestSecrets(t *testing.T) {
	f := newFakeLab(1, nil)
	b := f.board(course(t), Options{ShowSecrets: true})
	if v, _, _ := b.Snapshot(); v[0].Password != "sekret-pass-1" {
		t.Errorf("password %q", v[0].Password)
	}
	b = f.board(course(t), Options{})
	b.views[0].Error = "node said sekret-pass-1"
	srv := httptest.NewServer(b.Handler(f.state.Secrets()))
	defer srv.Close()
	if s := get(t, srv.URL+"/state.json"); strings.Contains(s, "sekret-pass-1") {
		t.Errorf("secret in %s", s)
	}
}
