package nodeprep

import (
	"context"
	"errors"
	"testing"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// Every cluster that failed in a fan-out gets its own host and step, not
// only the first one in the error list; a node cut short by the run's end
// fails no cluster.
func TestRecordNamesEveryFailedCluster(t *testing.T) {
	st := &lab.State{Clusters: []lab.Cluster{{Index: 2}, {Index: 5}, {Index: 10}}}
	p := &Phase{Context: phase.Context{State: st}}
	failed := func(c int) *nodeWork {
		w := &nodeWork{Target: phase.Target{NodeRef: phase.NodeRef{Cluster: c, Node: "node1"}}}
		w.applyErr = phase.Fail(w.NodeRef, "portworx", errors.New("exit 1"))
		return w
	}
	cut := &nodeWork{Target: phase.Target{NodeRef: phase.NodeRef{Cluster: 5, Node: "node1"}}, applyErr: context.Canceled}
	p.record([]*nodeWork{failed(2), cut, failed(10)})
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

// at is node n of cluster c, reached through x.
func at(c int, n string, x remote.Executor) phase.Target {
	return phase.Target{NodeRef: phase.NodeRef{Cluster: c, Node: n}, Executor: x}
}
