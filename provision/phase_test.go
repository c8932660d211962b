package provision

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// A cluster with a node that cannot be logged into is unreachable, named
// by that node; the others are reached.
func TestReachNamesTheUnreachableNode(t *testing.T) {
	st := &lab.State{Clusters: []lab.Cluster{
		{Index: 1, Nodes: []lab.Node{{Name: "node1"}, {Name: "node2"}}},
		{Index: 2, Nodes: []lab.Node{{Name: "node1"}, {Name: "node2"}}},
	}}
	exec := func(c int, n string) remote.Executor {
		f := remote.NewFake(lab.Label(c, n))
		if c == 2 && n == "node2" {
			return f.OnError(`^true$`, errors.New("connection refused"))
		}
		return f.On(`^true$`, "", 0)
	}
	saved := 0
	p := &ReachPhase{Context: phase.Context{State: st, Exec: exec, Parallel: 2, Out: io.Discard, Save: func() error { saved++; return nil }}}
	err := p.Run(context.Background())
	if err == nil || saved != 1 {
		t.Fatalf("err %v, saved %d times", err, saved)
	}
	if r := st.Clusters[0].Phases["reach"]; !r.OK {
		t.Errorf("cluster 01: %+v", r)
	}
	if r := st.Clusters[1].Phases["reach"]; r.OK || r.Step != "02/node2 ssh" || r.Error == "" {
		t.Errorf("cluster 02: %+v", r)
	}
}
