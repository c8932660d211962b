package pipeline

import (
	"context"
	"fmt"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
	"github.com/labctl/labctl/reset"
)

// baselinePhase records, for `labctl reset`, what every healthy cluster
// looks like at the end of up. A cluster that has a baseline from an up
// with the same add-ons keeps it: what attendees made since is exactly
// what a reset removes. Other add-ons (or none yet) record it again.
type baselinePhase struct {
	u *Up
	// again records it even where one is kept (`up --only baseline`).
	again bool
}

func (b *baselinePhase) Title() string { return "baseline" }

func (b *baselinePhase) Run(ctx context.Context) error {
	u := b.u
	px := u.phaseContext()
	err := px.EachCluster(ctx, func(ctx context.Context, c *lab.Cluster) error {
		err := b.cluster(ctx, c)
		px.Done(phase.Outcome{Cluster: c.Index, Phase: "baseline", Step: "baseline", Err: err})
		return err
	})
	if serr := u.save(); serr != nil {
		return serr
	}
	return err
}

func (b *baselinePhase) cluster(ctx context.Context, c *lab.Cluster) error {
	u := b.u
	dir := u.Store.Dir()
	if old, err := reset.Load(dir, c.Index); err == nil && old.Addons == c.Addons && !b.again {
		u.logf("    cluster %02d: baseline of %s kept\n", c.Index, old.At.Format("2006-01-02 15:04"))
		return nil
	}
	base, err := u.recordBaseline(ctx, c)
	if err != nil {
		return err
	}
	if err := reset.Save(dir, base); err != nil {
		return fmt.Errorf("cluster %02d: %w", c.Index, err)
	}
	u.logf("    cluster %02d: baseline recorded (%d objects, %d nodes)\n", c.Index, len(base.Objects), len(base.Nodes))
	return nil
}

// recordBaseline takes cluster c's baseline through the run's API client.
func (u *Up) recordBaseline(ctx context.Context, c *lab.Cluster) (*reset.Baseline, error) {
	cl, err := u.kube(ctx, c.Index)
	if err != nil {
		return nil, fmt.Errorf("cluster %02d: %w", c.Index, err)
	}
	base, err := reset.Record(ctx, cl, c.Index, c.Login.User, nodeExecs(u.State, u.eng, c))
	if err != nil {
		return nil, fmt.Errorf("cluster %02d: baseline: %w", c.Index, err)
	}
	base.Addons = c.Addons
	base.Lab = u.Lab.Name
	return base, nil
}

// nodeExecs are cluster c's nodes, by name, as they are now.
func nodeExecs(s *lab.State, eng *remote.Engine, c *lab.Cluster) map[string]remote.Executor {
	xs := map[string]remote.Executor{}
	for _, n := range c.Nodes {
		xs[n.Name] = provision.ExecutorFor(eng, s, c.Index, n.Name)
	}
	return xs
}
