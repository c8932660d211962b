// Package phase is what the phases of labctl's pipeline share (kind's
// action context and k0sctl's phases are the models): the Context every
// phase runs in, typed references to nodes instead of their labels, one
// fan-out over nodes or clusters that honours ssh.parallel, and one way
// to record a cluster's outcome in the state.
package phase

import (
	"context"
	"io"
	"time"

	"github.com/labctl/labctl/internal/fan"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// Context is what every phase of `labctl up` (and the commands that run
// parts of it again) is given.
type Context struct {
	Lab   *lab.Lab
	State *lab.State
	// Exec returns the executor of a node.
	Exec func(cluster int, node string) remote.Executor
	// Parallel bounds the nodes worked on at once (ssh.parallel).
	Parallel int
	Out      io.Writer
	// Save writes the state (a dry run's writes nothing).
	Save func() error
	// Skip leaves out clusters that already failed in this run.
	Skip func(cluster int) bool
	// Record receives each cluster's outcome; nil: the phase writes it
	// into State itself (see Done).
	Record func(Outcome)
}

// Skipped says whether cluster c is left out of this phase.
func (x *Context) Skipped(c int) bool { return x.Skip != nil && x.Skip(c) }

// Clusters are the state's clusters not skipped, in order.
func (x *Context) Clusters() []*lab.Cluster {
	var cs []*lab.Cluster
	for i := range x.State.Clusters {
		if c := &x.State.Clusters[i]; !x.Skipped(c.Index) {
			cs = append(cs, c)
		}
	}
	return cs
}

// Target is node n of cluster c, with its executor.
func (x *Context) Target(c int, n string) Target {
	return Target{NodeRef: NodeRef{Cluster: c, Node: n}, Executor: x.Exec(c, n)}
}

// ClusterParallel is how many clusters a cluster-wide step works on at
// once: ssh.parallel's nodes, a cluster's nodes each (at least one).
func (x *Context) ClusterParallel() int {
	per := 1
	if x.Lab != nil {
		per = max(1, x.Lab.NodesPerCluster)
	}
	return max(1, x.Parallel/per)
}

// EachCluster runs fn on every cluster not skipped, ClusterParallel at
// once; one cluster's failure never stops the others. The error lists
// every failed cluster's, as remote.Each's does its hosts'.
func (x *Context) EachCluster(ctx context.Context, fn func(ctx context.Context, c *lab.Cluster) error) error {
	cs := x.Clusters()
	errs := fan.Each(ctx, len(cs), x.ClusterParallel(), func(ctx context.Context, i int) error { return fn(ctx, cs[i]) })
	res := make(remote.Results, len(cs))
	for i, c := range cs {
		res[i] = remote.HostResult{Host: lab.Label(c.Index, "node1"), Err: errs[i]}
	}
	return res.Err()
}

// Done records one cluster's outcome: through Record when set, else in
// State (the caller then holds whatever guards it).
func (x *Context) Done(o Outcome) {
	if x.Record != nil {
		x.Record(o)
		return
	}
	if c := x.State.Cluster(o.Cluster); c != nil {
		c.SetPhase(o.Phase, o.Result(time.Now().UTC()))
	}
}

// Outcome is what one phase did to one cluster: the one way phases
// report it (the state's PhaseResult is made from it).
type Outcome struct {
	Cluster int
	Phase   string
	// Step says where it failed ("03/node2 kubeadm join", "health").
	Step string
	Err  error
}

// Result is the outcome as the state keeps it.
func (o Outcome) Result(at time.Time) lab.PhaseResult {
	r := lab.PhaseResult{OK: o.Err == nil, At: at}
	if o.Err != nil {
		r.Step, r.Error = o.Step, o.Err.Error()
	}
	return r
}
