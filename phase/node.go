package phase

import (
	"context"

	"github.com/labctl/labctl/internal/fan"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// NodeRef names node Node of cluster Cluster: what phases pass and keep,
// instead of its label ("03/node2"), which is for output only.
type NodeRef struct {
	Cluster int
	Node    string
}

// String is the node's label, "03/node2".
func (r NodeRef) String() string { return lab.Label(r.Cluster, r.Node) }

// Target is a node and its executor.
type Target struct {
	NodeRef
	remote.Executor
}

// Each runs fn on every target, at most parallel at once (remote's
// default when under one); one target's failure never stops the others.
// The error is remote.Each's: every failed host's, listed.
func Each(ctx context.Context, ts []Target, parallel int, fn func(context.Context, Target) error) error {
	if parallel < 1 {
		parallel = remote.DefaultParallel
	}
	errs := fan.Each(ctx, len(ts), parallel, func(ctx context.Context, i int) error { return fn(ctx, ts[i]) })
	res := make(remote.Results, len(ts))
	for i, t := range ts {
		res[i] = remote.HostResult{Host: t.Name(), Err: errs[i]}
	}
	return res.Err()
}

// Nodes are the names of ts' nodes.
func Nodes(ts []Target) []string {
	ns := make([]string, len(ts))
	for i, t := range ts {
		ns[i] = t.Node
	}
	return ns
}
