package pulumi

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
)

func awsState(clusters, nodes int) *lab.State {
	s := &lab.State{Lab: "class", Provider: lab.ProviderState{Type: "pulumi"}}
	for c := 1; c <= clusters; c++ {
		cl := lab.Cluster{Index: c}
		for n := 1; n <= nodes; n++ {
			cl.Nodes = append(cl.Nodes, lab.Node{Name: lab.NodeName(n), PublicAddress: "198.51.100.1", HostKey: "ssh-ed25519 OLD", ID: "i-x"})
		}
		s.Clusters = append(s.Clusters, cl)
	}
	return s
}

// labctl stop --cluster 2 on a lab whose cluster 3 is already stopped: one
// power request, targeting cluster 2, keeping 2 and 3 stopped; the nodes
// of cluster 2 are read back from the outputs, the others untouched.
func TestStopAsksForTheStatesAfter(t *testing.T) {
	l := parseLab(t, "name: class\nattendees: 3\nnodesPerCluster: 1\nprovider: {type: pulumi}\n")
	s := awsState(3, 1)
	s.Clusters[2].SetStopped(true, monday)
	sshd := listen(t)
	node := func(key, id string) []Node {
		return []Node{{User: "root", Node: lab.Node{Name: "node1", PublicAddress: "127.0.0.1", Port: sshd, HostKey: key, ID: id}}}
	}
	f := newFakeHelper(t, monday, Event{Out: "    pulumi: 1 updated, 20 unchanged"}, Event{Result: &Result{Clusters: []Cluster{
		{Index: 1, Nodes: node("ssh-ed25519 K1", "i-1")}, {Index: 2, Nodes: node("ssh-ed25519 K2", "i-2")}, {Index: 3, Nodes: node("ssh-ed25519 K3", "i-3")},
	}}})
	if fleet, err := f.Prov.PowerPlan(l, s); !fleet || err != nil {
		t.Fatalf("PowerPlan: %v %v", fleet, err)
	}
	var out bytes.Buffer
	r := provision.Request{Lab: l, StateDir: t.TempDir(), State: s, Out: &out, Clusters: []int{2}}
	if err := f.Prov.Stop(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	req := f.request()
	if req.Op != OpPower || !slices.Equal(req.Clusters, []int{2}) || !slices.Equal(req.Stopped, []int{2, 3}) || !strings.HasPrefix(req.AuthorizedKey, "ssh-ed25519 ") {
		t.Errorf("request: op %s clusters %v stopped %v key %q", req.Op, req.Clusters, req.Stopped, req.AuthorizedKey)
	}
	if n := s.Cluster(2).Nodes[0]; n.PublicAddress != "127.0.0.1" || n.HostKey != "ssh-ed25519 K2" {
		t.Errorf("cluster 2 not read back: %+v", n)
	}
	if n := s.Cluster(1).Nodes[0]; n.PublicAddress != "198.51.100.1" {
		t.Errorf("cluster 1 changed: %+v", n)
	}
	if !strings.Contains(out.String(), "pulumi: 1 updated") {
		t.Errorf("output: %s", out.String())
	}

	// labctl start (all): nothing stays stopped.
	r.Clusters = nil
	if err := f.Prov.Start(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if req := f.request(); !slices.Equal(req.Clusters, []int{1, 2, 3}) || len(req.Stopped) != 0 {
		t.Errorf("start: clusters %v stopped %v", req.Clusters, req.Stopped)
	}
	if !strings.Contains(out.String(), "sshd answers on 3 nodes") {
		t.Errorf("start did not wait for sshd:\n%s", out.String())
	}
}

// listen is an sshd stand-in: a port that accepts connections.
func listen(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// A node whose sshd does not come back is named, and the start fails.
func TestStartNamesSilentNodes(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p := New()
	p.SSHWait = 1500 * time.Millisecond
	var out bytes.Buffer
	err := p.waitSSH(t.Context(), []lab.Node{{Name: "node1", PublicAddress: "127.0.0.1", Port: closed}, {Name: "node2", PublicAddress: "127.0.0.1", Port: listen(t)}}, &out)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("no sshd answered on 127.0.0.1:%d within 1.5s", closed)) || strings.Count(err.Error(), "127.0.0.1") != 1 {
		t.Errorf("%v", err)
	}
}

// What labctl cannot stop and start as it was is refused, one line each,
// naming the field.
func TestPowerPlanRefuses(t *testing.T) {
	for body, want := range map[string]string{
		"provider: {type: pulumi, aws: {addresses: ephemeral}}\n":                 "provider.aws.addresses: ephemeral:",
		"provider: {type: pulumi, pulumi: {stack: dev}}\n":                        "provider.pulumi.stack: stack dev is yours",
		"attendees: 4\nnodesPerCluster: 1\nprovider: {type: pulumi}\n":            "attendees, spares, nodesPerCluster: the lab file asks for 4 × 1 nodes, the lab has 3 clusters",
		"attendees: 3\nspares: 1\nnodesPerCluster: 1\nprovider: {type: pulumi}\n": "attendees, spares, nodesPerCluster: the lab file asks for 4 × 1 nodes, the lab has 3 clusters",
	} {
		l := parseLab(t, "name: class\n"+body)
		_, err := New().PowerPlan(l, awsState(3, 1))
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
	// 2 attendees + 1 spare are the 3 clusters the lab has: a stop may go on.
	if fleet, err := New().PowerPlan(parseLab(t, "name: class\nattendees: 2\nspares: 1\nnodesPerCluster: 1\nprovider: {type: pulumi}\n"), awsState(3, 1)); !fleet || err != nil {
		t.Errorf("2 attendees + 1 spare on 3 clusters: fleet %v, %v", fleet, err)
	}
	l := parseLab(t, "name: class\nprovider: {type: pulumi, pulumi: {target: local}}\n")
	if fleet, err := New().PowerPlan(l, awsState(3, 1)); fleet || err != nil {
		t.Errorf("local target: fleet %v, %v; want per cluster, by the local provider", fleet, err)
	}
}

// up starts everything again, and the machine hours count from the first.
func TestProvisionRunsAllAndStartsTheClock(t *testing.T) {
	l := parseLab(t, "name: class\nattendees: 1\nnodesPerCluster: 1\nprovider: {type: pulumi}\n")
	s := awsState(1, 1)
	s.Clusters[0].SetStopped(true, monday)
	f := newFakeHelper(t, monday, Event{Result: &Result{Clusters: []Cluster{
		{Index: 1, Nodes: []Node{{User: "root", Node: lab.Node{Name: "node1", PublicAddress: "198.51.100.11", HostKey: "ssh-ed25519 K1", ID: "i-1"}}}},
	}}})
	var out bytes.Buffer
	fresh := &lab.State{}
	for _, st := range []*lab.State{s, fresh} {
		if err := f.Prov.Provision(t.Context(), provision.Request{Lab: l, StateDir: t.TempDir(), State: st, Out: &out}); err != nil {
			t.Fatal(err)
		}
		if req := f.request(); req.Op != OpUp || len(req.Stopped) != 0 {
			t.Errorf("up: %s stopped %v", req.Op, req.Stopped)
		}
	}
	if p := fresh.Clusters[0].Power; p == nil || !p.Since.Equal(monday) || p.Stopped {
		t.Errorf("a new cluster's power record: %+v", p)
	}
	if e := fresh.Provider.Extra; e[ExtraRegion] != "us-east-1" || e[ExtraTarget] != "aws" || !strings.HasPrefix(e[ExtraBackend], "file://") {
		t.Errorf("extras: %v", e)
	}
	if !strings.Contains(out.String(), "cost estimate: $0.05/h running") {
		t.Errorf("up's estimate line:\n%s", out.String())
	}
}
