package nodeprep

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// A node that never gets Ready is named with the API server's reason and
// the kubelet's last errors, on one line the report can print.
func TestWaitReadySaysWhy(t *testing.T) {
	x1 := remote.NewFake("03/node1").
		On(`kubectl get nodes --no-headers`, "node1   Ready      control-plane   5m   v1.34.4\nnode2   NotReady   <none>   5m   v1.34.4\n", 0).
		On(`kubectl get node node2 `, "container runtime network not ready: cni plugin not initialized", 0)
	x2 := remote.NewFake("03/node2").
		On(`journalctl -u kubelet`, "E1123 21:21:38.448640 3753 file_linux.go:61] \"Unable to read config path\" err=\"too many open files\"\nE1123 21:21:38.605928 3753 kubelet.go:1687] \"Failed to start cAdvisor\"\n", 0)
	c := &lab.Cluster{Index: 3, Nodes: []lab.Node{{Name: "node1"}, {Name: "node2"}}}
	p := &ClusterPhase{ReadyTimeout: time.Nanosecond, Exec: func(_ int, n string) remote.Executor {
		if n == "node1" {
			return x1
		}
		return x2
	}}
	err := p.waitReady(context.Background(), c, x1)
	var se *StepError
	if !errors.As(err, &se) || se.Host != "03/node1" || se.Step != "wait for Ready" {
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
}

// Every cluster that failed in a fan-out gets its own host and step, not
// only the first one in the error list.
func TestRecordNamesEveryFailedCluster(t *testing.T) {
	st := &lab.State{Clusters: []lab.Cluster{{Index: 2}, {Index: 5}, {Index: 10}}}
	p := &Phase{State: st}
	fanout := remote.Results{
		{Host: "02/node1", Err: &StepError{Host: "02/node1", Step: "portworx", Err: errors.New("exit 1")}},
		{Host: "05/node1"},
		{Host: "10/node1", Err: &StepError{Host: "10/node1", Step: "portworx", Err: errors.New("exit 1")}},
	}.Err()
	p.record(errors.Join(nil, fanout))
	for _, c := range st.Clusters {
		r := c.Phases["nodeprep"]
		switch c.Index {
		case 5:
			if !r.OK {
				t.Errorf("cluster 05 failed: %+v", r)
			}
		default:
			if want := lab.Label(c.Index, "node1") + " portworx"; r.OK || r.Step != want {
				t.Errorf("cluster %02d: %+v, want step %q", c.Index, r, want)
			}
		}
	}
}

// The probe's table of nodes (a real API server answer, with two rows
// added) reads as `kubectl get nodes` lines; only Ready nodes count.
func TestNodeLinesFromTheAPITable(t *testing.T) {
	raw, err := os.ReadFile("testdata/nodes-table.json")
	if err != nil {
		t.Fatal(err)
	}
	// As the probe prints it: one line, after its tag, among other facts.
	facts := "initialized\nkubeconfig\nnodes-table: " + strings.ReplaceAll(string(raw), "\n", "") + "\ntmpfs\n"
	lines := nodeLines(facts)
	if lines != "node1 Ready\nnode2 NotReady\nnode3 Ready,SchedulingDisabled\n" {
		t.Fatalf("nodeLines = %q", lines)
	}
	c := &lab.Cluster{Nodes: []lab.Node{{Name: "node1"}, {Name: "node2"}, {Name: "node3"}, {Name: "node4"}}}
	if got := notReadyNodes(lines, c); strings.Join(got, ",") != "node2,node4" {
		t.Fatalf("not Ready: %v", got)
	}
	// No API server yet, or an error instead of a table: no nodes.
	for _, f := range []string{"nodes-table: \n", `nodes-table: {"kind":"Status","status":"Failure"}` + "\n", "nodes-table: {trunc\n"} {
		if got := nodeLines(f); got != "" {
			t.Errorf("nodeLines(%q) = %q", f, got)
		}
	}
}

// A dry run prints, per cluster, what Run would do, from the probes alone.
func TestClusterDryRunPlans(t *testing.T) {
	raw, err := os.ReadFile("testdata/nodes-table.json")
	if err != nil {
		t.Fatal(err)
	}
	table := "nodes-table: " + strings.ReplaceAll(string(raw), "\n", "") + "\n"
	n1 := func(label, facts string) *remote.Fake { return remote.NewFake(label).On(`admin.conf`, facts, 0) }
	worker := func(label, facts string) *remote.Fake { return remote.NewFake(label).On(`kubelet.conf`, facts, 0) }
	done := "initialized\nkubeconfig\n" + strings.Replace(table, "NotReady", "Ready", 1) + "ca: c1\ntmpfs\n"
	joined := "kubelet-conf\nkubelet-active\nca: c1\n"
	fakes := map[string]*remote.Fake{
		// Cluster 1: node1 Ready, node3 Ready; node2 NotReady and never joined.
		"01/node1": n1("01/node1", "initialized\nkubeconfig\n"+table+"ca: c1\ntmpfs\n"),
		"01/node2": worker("01/node2", ""),
		"01/node3": worker("01/node3", joined),
		// Cluster 2: a fresh node1, no API server yet.
		"02/node1": n1("02/node1", "tmpfs\n"),
		// Cluster 3: done (the table lists node1, node2 and node3 Ready).
		"03/node1": n1("03/node1", done),
		"03/node2": worker("03/node2", joined),
		"03/node3": worker("03/node3", joined),
		// Cluster 4: node2 reset, still listed Ready by the API server.
		"04/node1": n1("04/node1", done),
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
	p := &ClusterPhase{State: st, Exec: func(c int, n string) remote.Executor { return fakes[lab.Label(c, n)] }}
	var out strings.Builder
	if err := p.DryRun(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	want := "    cluster 01: would do kubeadm join node2; the pod network; wait until node2 Ready\n" +
		"    cluster 02: would do kubeadm init on node1; the attendee's kubeconfig; the pod network; wait until node1 Ready\n" +
		"    cluster 03: every node joined and Ready, nothing to do\n" +
		"    cluster 04: would do kubeadm join node2; the pod network; wait until every node is Ready\n" +
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
}

// With Weave Net the addons phase installs the CNI: kubeadm's network step
// writes no bridge configuration, and NotReady nodes (no CNI yet) are
// enough once registered.
func TestWeaveLeavesTheNetworkToTheAddon(t *testing.T) {
	c := &lab.Cluster{Index: 1, Nodes: []lab.Node{{Name: "node1"}, {Name: "node2"}}}
	x1 := remote.NewFake("01/node1").
		On(`kubectl get nodes --no-headers`, "node1   NotReady   control-plane   1m   v1.34.4\nnode2   NotReady   <none>   1m   v1.34.4\n", 0)
	x2 := remote.NewFake("01/node2")
	l := &lab.Lab{}
	l.Kubernetes.CNI = "weave"
	p := &ClusterPhase{Lab: l, ReadyTimeout: time.Minute, Exec: func(_ int, n string) remote.Executor {
		if n == "node1" {
			return x1
		}
		return x2
	}}
	if err := p.network(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if err := p.waitRegistered(context.Background(), c, x1); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*remote.Fake{x1, x2} {
		for _, call := range f.Calls() {
			if strings.Contains(call, "bridge") || strings.Contains(call, "cni") {
				t.Errorf("%s ran %q", f.Name(), call)
			}
		}
	}
	if got := unregisteredNodes("node1   NotReady   control-plane\n", c); len(got) != 1 || got[0] != "node2" {
		t.Errorf("unregistered = %v", got)
	}
	p.ReadyTimeout = time.Nanosecond
	x1 = remote.NewFake("01/node1").On(`kubectl get nodes --no-headers`, "node1   NotReady   control-plane   1m   v1.34.4\n", 0)
	if err := p.waitRegistered(context.Background(), c, x1); err == nil || !strings.Contains(err.Error(), "not registered after 1ns: node2") {
		t.Errorf("err = %v", err)
	}
	facts := "initialized\nkubeconfig\nnodes-table: x\n"
	if plan := clusterPlan(c, facts, workers{}, true); len(plan) != 1 || !strings.Contains(plan[0], "registered") {
		t.Errorf("plan %q", plan)
	}
}
