package addons

import (
	"fmt"
	"io"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// testRun is what a test phase recorded: outcomes and applied digests.
type testRun struct {
	outcomes []phase.Outcome
	applied  []string
}

// testPhase is a phase over cluster 1 of st, its nodes reached through
// the given fakes (by label, "01/node1"); it records into run.
func testPhase(st *lab.State, out io.Writer, parallel int, run *testRun, nodes ...remote.Executor) *Phase {
	by := map[string]remote.Executor{}
	for _, n := range nodes {
		by[n.Name()] = n
	}
	exec := func(c int, n string) remote.Executor {
		if x := by[lab.Label(c, n)]; x != nil {
			return x
		}
		return remote.NewFake(fmt.Sprintf("%02d/%s", c, n)) // answers nothing
	}
	return &Phase{
		Context: phase.Context{State: st, Exec: exec, Parallel: parallel, Out: out,
			Record: func(o phase.Outcome) { run.outcomes = append(run.outcomes, o) }},
		Applied: func(_ int, digest string) { run.applied = append(run.applied, digest) },
	}
}

// oneCluster is a state with cluster 1, applied digest and these nodes.
func oneCluster(applied string, nodes ...lab.Node) *lab.State {
	return &lab.State{Clusters: []lab.Cluster{{Index: 1, Addons: applied, Nodes: nodes}}}
}
