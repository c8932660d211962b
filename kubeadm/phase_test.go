package kubeadm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/kube/kubefake"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// node is a Node as the API server has it: Ready or not ("": the kubelet
// has not reported yet), with the Ready condition's message.
func node(name string, ready corev1.ConditionStatus, msg string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if ready != "" {
		n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodePIDPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: ready, Message: msg}}
	}
	return n
}

// apis stands for each cluster's API server (by index); a cluster
// without one is refused, as a tunnel to a port nobody listens on is.
type apis map[int]*fake.Clientset

func (a apis) kube(_ context.Context, c int) (*kube.Client, error) {
	cs := a[c]
	if cs == nil {
		return nil, fmt.Errorf("%02d/node1: ssh tunnel to 10.89.0.2:6443: connect: connection refused", c)
	}
	return &kube.Client{Name: lab.Label(c, "node1"), Typed: kubefake.Typed(cs)}, nil
}

// writes lists the API calls that were not reads.
func writes(cs *fake.Clientset) []string {
	var w []string
	for _, a := range cs.Actions() {
		if v := a.GetVerb(); v != "get" && v != "list" && v != "watch" {
			w = append(w, v+" "+a.GetResource().Resource)
		}
	}
	return w
}

// A node that never gets Ready is named with the API server's reason and
// the kubelet's last errors, on one line the report can print.
func TestWaitReadySaysWhy(t *testing.T) {
	x1 := remote.NewFake("03/node1")
	api := apis{3: fake.NewClientset(node("node1", corev1.ConditionTrue, "kubelet is posting ready status"),
		node("node2", corev1.ConditionFalse, "container runtime network not ready: cni plugin not initialized"))}
	x2 := remote.NewFake("03/node2").
		On(`journalctl -u kubelet`, "E1123 21:21:38.448640 3753 file_linux.go:61] \"Unable to read config path\" err=\"too many open files\"\nE1123 21:21:38.605928 3753 kubelet.go:1687] \"Failed to start cAdvisor\"\n", 0)
	c := &lab.Cluster{Index: 3, Nodes: []lab.Node{{Name: "node1"}, {Name: "node2"}}}
	p := &Phase{Context: phase.Context{Exec: func(_ int, n string) remote.Executor {
		if n == "node1" {
			return x1
		}
		return x2
	}}, ReadyTimeout: time.Nanosecond, Kube: api.kube}
	err := p.waitReady(context.Background(), c, at(3, "node1", x1))
	var se *phase.StepError
	if !errors.As(err, &se) || se.Node != (phase.NodeRef{Cluster: 3, Node: "node1"}) || se.Step != "wait for Ready" {
		t.Fatalf("err = %#v", err)
	}
	msg := err.Error()
	for _, want := range []string{"not Ready after 1ns: node2: container runtime network not ready: cni plugin not initialized",
		`kubelet errors: E1123 21:21:38.448640 3753 file_linux.go:61] "Unable to read config path" err="too many open files" / E1123`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "\n") || strings.Contains(msg, "after 1ns: node1") {
		t.Errorf("error spans lines or blames the Ready node1:\n%s", msg)
	}
	// The API server said it all: node1 ran no command.
	if calls := x1.Calls(); len(calls) != 0 {
		t.Errorf("node1 ran %q", calls)
	}
	// No API server to ask: the error says so, naming node1 and the step.
	p.Kube = apis{}.kube
	err = p.waitReady(context.Background(), c, at(3, "node1", x1))
	if !errors.As(err, &se) || se.Node != (phase.NodeRef{Cluster: 3, Node: "node1"}) || !strings.Contains(err.Error(), "wait for Ready: not Ready after 1ns: 03/node1: ssh tunnel to 10.89.0.2:6443: connect: connection refused") {
		t.Errorf("without an API server: %v", err)
	}
}

// at is node n of cluster c, reached through x.
func at(c int, n string, x remote.Executor) phase.Target {
	return phase.Target{NodeRef: phase.NodeRef{Cluster: c, Node: n}, Executor: x}
}

// Only nodes whose Ready condition is True count as Ready: not False,
// Unknown (a lost node), no condition yet, nor a node the API server lacks.
func TestNotReadyNodes(t *testing.T) {
	nodes := map[string]*corev1.Node{
		"node1": node("node1", corev1.ConditionTrue, ""),
		"node2": node("node2", corev1.ConditionFalse, ""),
		"node3": node("node3", corev1.ConditionUnknown, ""),
		"node4": node("node4", "", ""),
		"node6": node("node6", corev1.ConditionTrue, ""), // not this cluster's
	}
	nodes["node1"].Spec.Unschedulable = true // cordoned is still Ready
	c := &lab.Cluster{Nodes: []lab.Node{{Name: "node1"}, {Name: "node2"}, {Name: "node3"}, {Name: "node4"}, {Name: "node5"}}}
	if got := notReadyNodes(nodes, c); strings.Join(got, ",") != "node2,node3,node4,node5" {
		t.Errorf("not Ready: %v", got)
	}
	if got := unregisteredNodes(nodes, c); strings.Join(got, ",") != "node5" {
		t.Errorf("unregistered: %v", got)
	}
	if got := notReadyNodes(nil, c); len(got) != 5 {
		t.Errorf("no API server: not Ready %v", got)
	}
}

// A dry run prints, per cluster, what Run would do, from the probes alone.
func TestClusterDryRunPlans(t *testing.T) {
	n1 := func(label, facts string) *remote.Fake { return remote.NewFake(label).On(`admin.conf`, facts, 0) }
	worker := func(label, facts string) *remote.Fake { return remote.NewFake(label).On(`kubelet.conf`, facts, 0) }
	done := "initialized\nkubeconfig\nkubelet-active\nca: c1\ntmpfs\n"
	joined := "kubelet-conf\nkubelet-active\nca: c1\n"
	fakes := map[string]*remote.Fake{
		// Cluster 1: node1 Ready, node3 Ready; node2 NotReady and never joined.
		"01/node1": n1("01/node1", done),
		"01/node2": worker("01/node2", ""),
		"01/node3": worker("01/node3", joined),
		// Cluster 2: a fresh node1, no API server yet.
		"02/node1": n1("02/node1", "tmpfs\n"),
		// Cluster 3: done (the API server has node1, node2 and node3 Ready).
		"03/node1": n1("03/node1", done),
		"03/node2": worker("03/node2", joined),
		"03/node3": worker("03/node3", joined),
		// Cluster 4: node2 reset, still listed Ready by the API server;
		// the attendee stopped node1's kubelet.
		"04/node1": n1("04/node1", "initialized\nkubeconfig\nca: c1\ntmpfs\n"),
		"04/node2": worker("04/node2", "ca: c1\n"),
		// Cluster 5: node2 just rebooted (kubelet not up yet); node3 trusts
		// the CA of a node1 that was set up again since.
		"05/node1": n1("05/node1", done),
		"05/node2": worker("05/node2", "kubelet-conf\nca: c1\n"),
		"05/node3": worker("05/node3", "kubelet-conf\nkubelet-active\nca: c0\n"),
	}
	nodes := func(names ...string) []lab.Node {
		var ns []lab.Node
		for _, n := range names {
			ns = append(ns, lab.Node{Name: n})
		}
		return ns
	}
	st := &lab.State{Clusters: []lab.Cluster{
		{Index: 1, Login: lab.Login{User: "k8s"}, Nodes: nodes("node1", "node2", "node3")},
		{Index: 2, Login: lab.Login{User: "k8s"}, Nodes: nodes("node1")},
		{Index: 3, Login: lab.Login{User: "k8s"}, Nodes: nodes("node1", "node2", "node3")},
		{Index: 4, Login: lab.Login{User: "k8s"}, Nodes: nodes("node1", "node2")},
		{Index: 5, Login: lab.Login{User: "k8s"}, Nodes: nodes("node1", "node2", "node3")},
	}}
	allReady := func() *fake.Clientset {
		return fake.NewClientset(node("node1", corev1.ConditionTrue, ""), node("node2", corev1.ConditionTrue, ""), node("node3", corev1.ConditionTrue, ""))
	}
	api := apis{
		1: fake.NewClientset(node("node1", corev1.ConditionTrue, ""), node("node2", corev1.ConditionFalse, ""), node("node3", corev1.ConditionTrue, "")),
		3: allReady(), 4: allReady(), 5: allReady(),
	}
	p := &Phase{Context: phase.Context{State: st, Exec: func(c int, n string) remote.Executor { return fakes[lab.Label(c, n)] }}, Kube: api.kube}
	var out strings.Builder
	if err := p.DryRun(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := "    cluster 01: would do kubeadm join node2; the pod network; wait until node2 Ready\n" +
		"    cluster 02: would do kubeadm init on node1; the attendee's kubeconfig; the pod network; wait until node1 Ready\n" +
		"    cluster 03: every node joined and Ready, nothing to do\n" +
		"    cluster 04: would do start the kubelet on node1; kubeadm join node2; the pod network; wait until every node is Ready\n" +
		"    cluster 05: would do start the kubelet on node2; kubeadm join node3; the pod network; wait until every node is Ready\n"
	if out.String() != want {
		t.Errorf("dry run printed:\n%s\nwant:\n%s", out.String(), want)
	}
	for label, f := range fakes {
		for _, call := range f.Calls() {
			if !strings.Contains(call, "admin.conf") && !strings.Contains(call, "kubelet.conf") {
				t.Errorf("%s: a dry run ran %q", label, call)
			}
		}
	}
	for c, cs := range api {
		if w := writes(cs); len(w) > 0 {
			t.Errorf("cluster %02d: a dry run wrote %v", c, w)
		}
	}
}

// With Weave Net the addons phase installs the CNI: kubeadm's network step
// writes no bridge configuration, and NotReady nodes (no CNI yet) are
// enough once registered.
func TestWeaveLeavesTheNetworkToTheAddon(t *testing.T) {
	c := &lab.Cluster{Index: 1, Nodes: []lab.Node{{Name: "node1"}, {Name: "node2"}}}
	x1 := remote.NewFake("01/node1")
	x2 := remote.NewFake("01/node2")
	l := &lab.Lab{}
	l.Kubernetes.CNI = "weave"
	api := apis{1: fake.NewClientset(node("node1", corev1.ConditionFalse, "cni plugin not initialized"), node("node2", corev1.ConditionFalse, "cni plugin not initialized"))}
	p := &Phase{Context: phase.Context{Lab: l, Exec: func(_ int, n string) remote.Executor {
		if n == "node1" {
			return x1
		}
		return x2
	}}, ReadyTimeout: time.Minute, Kube: api.kube}
	if err := p.network(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if err := p.waitRegistered(context.Background(), c, at(1, "node1", x1)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*remote.Fake{x1, x2} {
		for _, call := range f.Calls() {
			if strings.Contains(call, "bridge") || strings.Contains(call, "cni") {
				t.Errorf("%s ran %q", f.Name(), call)
			}
		}
	}
	p.ReadyTimeout = time.Nanosecond
	api[1] = fake.NewClientset(node("node1", corev1.ConditionFalse, ""))
	if err := p.waitRegistered(context.Background(), c, at(1, "node1", x1)); err == nil || !strings.Contains(err.Error(), "not registered after 1ns: node2") {
		t.Errorf("err = %v", err)
	}
	facts := "initialized\nkubeconfig\n"
	if plan := clusterPlan(c, facts, workers{}, nil, true); len(plan) != 1 || !strings.Contains(plan[0], "registered") {
		t.Errorf("plan %q", plan)
	}
}

// The bridge CNI takes each node's pod range from its Node object; a node
// still without one after the wait is named.
func TestPodCIDRsFromTheAPI(t *testing.T) {
	c := &lab.Cluster{Index: 2, Nodes: []lab.Node{{Name: "node1"}, {Name: "node2"}}}
	n1, n2 := node("node1", corev1.ConditionTrue, ""), node("node2", corev1.ConditionFalse, "")
	n1.Spec.PodCIDR, n2.Spec.PodCIDR = "10.244.0.0/24", "10.244.1.0/24"
	x1 := remote.NewFake("02/node1")
	p := &Phase{Kube: apis{2: fake.NewClientset(n1, n2)}.kube}
	cidrs, err := p.podCIDRs(context.Background(), c, at(2, "node1", x1))
	if err != nil || cidrs["node1"] != "10.244.0.0/24" || cidrs["node2"] != "10.244.1.0/24" || len(cidrs) != 2 {
		t.Fatalf("cidrs %v, err %v", cidrs, err)
	}
	if calls := x1.Calls(); len(calls) != 0 {
		t.Errorf("node1 ran %q", calls)
	}
}

// Workers about to join again lose their stale Node objects first,
// through the API; one that is already gone is fine.
func TestJoinDeletesStaleNodes(t *testing.T) {
	cs := fake.NewClientset(node("node1", corev1.ConditionTrue, ""), node("node2", corev1.ConditionUnknown, ""))
	ca, _ := newCA(t)
	c := &lab.Cluster{Index: 1, CA: ca, Nodes: []lab.Node{{Name: "node1", PrivateAddress: "10.89.0.2"}, {Name: "node2"}, {Name: "node3"}}}
	x1 := remote.NewFake("01/node1").OnError(`kubeadm token create`, errors.New("stop here"))
	p := &Phase{Context: phase.Context{Out: &strings.Builder{}}, Kube: apis{1: cs}.kube}
	err := p.joinWorkers(context.Background(), c, c.Node("node1"), at(1, "node1", x1), []phase.Target{at(1, "node2", remote.NewFake("01/node2")), at(1, "node3", remote.NewFake("01/node3"))})
	if err == nil || !strings.Contains(err.Error(), "join token") {
		t.Fatalf("err = %v", err)
	}
	if w := writes(cs); strings.Join(w, ",") != "delete nodes,delete nodes" {
		t.Errorf("API writes %v", w)
	}
	left, _ := cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if len(left.Items) != 1 || left.Items[0].Name != "node1" {
		t.Errorf("nodes left: %v", left.Items)
	}
}

var _ runtime.Object = (*corev1.Node)(nil)
