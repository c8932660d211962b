package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

// fakeTable records what the controller installs; fail makes the next
// applies fail.
type fakeTable struct {
	mu      sync.Mutex
	applied []string
	fail    int
	removed int
}

func (f *fakeTable) Apply(rs Ruleset) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail > 0 {
		f.fail--
		return errors.New("netlink: operation not permitted")
	}
	f.applied = append(f.applied, rs.String())
	return nil
}

func (f *fakeTable) Remove() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed++
	return nil
}

func (f *fakeTable) last() (string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.applied) == 0 {
		return "", 0
	}
	return f.applied[len(f.applied)-1], len(f.applied)
}

func pod(name, node, ip, label string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"run": label}},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "main", Image: "nginx"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}},
	}
}

// fakeSources serves the caches from a fake clientset and tells when all
// three watches are open: the fake drops events sent before that.
func fakeSources(cs *fake.Clientset) (listWatchers, *sync.WaitGroup) {
	var open sync.WaitGroup
	open.Add(3)
	lw := func(list func(context.Context, metav1.ListOptions) (runtime.Object, error),
		watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.ListerWatcher {
		var once sync.Once
		return &cache.ListWatch{ListWithContextFunc: list,
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				w, err := watchFn(ctx, o)
				once.Do(open.Done)
				return w, err
			}}
	}
	core, networking := cs.CoreV1(), cs.NetworkingV1()
	return listWatchers{
		pods: lw(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return core.Pods("").List(ctx, o)
		},
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return core.Pods("").Watch(ctx, o)
			}),
		namespaces: lw(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return core.Namespaces().List(ctx, o)
		},
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return core.Namespaces().Watch(ctx, o)
			}),
		policies: lw(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return networking.NetworkPolicies("").List(ctx, o)
		}, func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return networking.NetworkPolicies("").Watch(ctx, o)
		}),
	}, &open
}

type harness struct {
	cs    *fake.Clientset
	table *fakeTable
	ready string
	done  chan error
	stop  context.CancelFunc
}

func start(t *testing.T, table *fakeTable, cfg config) *harness {
	t.Helper()
	cs := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default", Labels: map[string]string{corev1.LabelMetadataName: "default"}}},
		pod("testweb", "node1", "10.244.1.2", "testweb"),
		pod("testcurl", "node1", "10.244.1.3", "testcurl"),
		pod("testkurl", "node2", "10.244.2.4", "testkurl"),
	)
	sources, open := fakeSources(cs)
	w, err := newWatches(sources)
	if err != nil {
		t.Fatal(err)
	}
	cfg.readyFile = filepath.Join(t.TempDir(), "ready")
	c, err := newController("node1", w, table, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{cs: cs, table: table, ready: cfg.readyFile, done: make(chan error, 1), stop: cancel}
	go func() { h.done <- c.run(ctx) }()
	t.Cleanup(func() { cancel(); <-h.done })
	open.Wait()
	return h
}

func testConfig() config {
	return config{debounce: 20 * time.Millisecond, resync: time.Hour, retries: 3, backoff: 5 * time.Millisecond, removeOnExit: true}
}

// eventually waits for the last applied ruleset to satisfy ok.
func (h *harness) eventually(t *testing.T, what string, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if last, n := h.table.last(); n > 0 && ok(last) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	last, _ := h.table.last()
	t.Fatalf("never applied a ruleset with %s; last:\n%s", what, last)
}

func policy(name string, spec networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}, Spec: spec}
}

func TestControllerFollowsTheCluster(t *testing.T) {
	h := start(t, &fakeTable{}, testConfig())
	ctx := context.Background()
	h.eventually(t, "nothing isolated", func(s string) bool { return s == "" })
	if _, err := os.Stat(h.ready); err != nil {
		t.Errorf("not ready after the first apply: %v", err)
	}

	testweb := metav1.LabelSelector{MatchLabels: map[string]string{"run": "testweb"}}
	nps := h.cs.NetworkingV1().NetworkPolicies("default")
	if _, err := nps.Create(ctx, policy("deny", networkingv1.NetworkPolicySpec{PodSelector: testweb}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.eventually(t, "testweb denied", func(s string) bool { return strings.Contains(s, "default/testweb 10.244.1.2\n  ingress: deny all") })

	allow := policy("allow", networkingv1.NetworkPolicySpec{PodSelector: testweb, Ingress: []networkingv1.NetworkPolicyIngressRule{{
		From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"run": "testcurl"}}}}}}})
	if _, err := nps.Create(ctx, allow, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.eventually(t, "testcurl allowed", func(s string) bool { return strings.Contains(s, "allow from 10.244.1.3/32, any port") })

	// A new pod with the label joins the allowed peers.
	pods := h.cs.CoreV1().Pods("default")
	if _, err := pods.Create(ctx, pod("testcurl2", "node2", "10.244.2.7", "testcurl"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.eventually(t, "the new pod allowed", func(s string) bool { return strings.Contains(s, "10.244.1.3/32 10.244.2.7/32") })

	// A burst of changes is gathered into few applies.
	_, before := h.table.last()
	for i := range 10 {
		if _, err := pods.Create(ctx, pod(fmt.Sprintf("burst%d", i), "node2", fmt.Sprintf("10.244.2.%d", 100+i), "testcurl"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	h.eventually(t, "the burst", func(s string) bool { return strings.Contains(s, "10.244.2.109/32") })
	if _, after := h.table.last(); after-before >= 10 {
		t.Errorf("10 pod creations caused %d applies: no debounce", after-before)
	}

	for _, name := range []string{"deny", "allow"} {
		if err := nps.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	h.eventually(t, "nothing isolated again", func(s string) bool { return s == "" })

	h.stop()
	if err := <-h.done; err != nil {
		t.Errorf("run after SIGTERM: %v", err)
	}
	h.done <- nil // for the cleanup
	if h.table.removed != 1 {
		t.Errorf("table removed %d times on exit, want 1", h.table.removed)
	}
	if _, err := os.Stat(h.ready); !os.IsNotExist(err) {
		t.Errorf("ready file still there after exit: %v", err)
	}
}

func TestControllerRetriesThenGivesUp(t *testing.T) {
	h := start(t, &fakeTable{fail: 2}, testConfig())
	h.eventually(t, "a ruleset after two failures", func(string) bool { return true })

	h2 := start(t, &fakeTable{fail: 100}, testConfig())
	select {
	case err := <-h2.done:
		if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts: netlink: operation not permitted") {
			t.Errorf("run returned %v, want it to give up", err)
		}
		h2.done <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("run kept going although every apply fails")
	}
	if _, err := os.Stat(h2.ready); !os.IsNotExist(err) {
		t.Errorf("ready although nothing was applied: %v", err)
	}
}

func TestSlimPodKeepsWhatCompileReads(t *testing.T) {
	p := pod("web", "node1", "10.244.1.2", "web")
	p.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}
	p.Spec.HostNetwork = true
	p.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	got, _ := slimPod(p)
	slim := got.(*corev1.Pod)
	if slim.Spec.Containers[0].Ports[0].ContainerPort != 80 || !slim.Spec.HostNetwork || slim.Spec.NodeName != "node1" ||
		slim.Status.PodIPs[0].IP != "10.244.1.2" || slim.Labels["run"] != "web" || slim.Status.Phase != corev1.PodRunning {
		t.Errorf("slimPod lost something: %+v", slim)
	}
	if slim.ManagedFields != nil || slim.Spec.Containers[0].Image != "" {
		t.Errorf("slimPod kept what nobody reads: %+v", slim)
	}
}
