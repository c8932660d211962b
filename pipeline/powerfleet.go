package pipeline

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
)

// planFleet asks a FleetPowerer how it stops and starts this lab: a
// refusal is bad input, before anything changed.
func (p *Power) planFleet(pw provision.Powerer) error {
	fp, ok := pw.(provision.FleetPowerer)
	if !ok {
		return nil
	}
	fleet, err := fp.PowerPlan(p.Lab, p.State)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	p.fleet = fleet
	return nil
}

// eachFleet is each for a provider that stops or starts every selected
// cluster in one call (one `pulumi up` for the class). It works on a copy
// of the whole state, so it knows which other clusters are stopped, and
// the selected clusters share its outcome.
func (p *Power) eachFleet(ctx context.Context, clusters []int, f func(context.Context, provision.Request) error, done func(c *lab.Cluster, now time.Time)) (map[int]error, map[int]time.Duration) {
	start := time.Now()
	p.mu.Lock()
	scratch := &lab.State{Lab: p.State.Lab, Provider: p.State.Provider, Clusters: slices.Clone(p.State.Clusters)}
	for i := range scratch.Clusters {
		scratch.Clusters[i].Nodes = slices.Clone(scratch.Clusters[i].Nodes)
	}
	p.mu.Unlock()
	req := provision.Request{Lab: p.Lab, StateDir: p.Store.Dir(), State: scratch, Out: remote.Indent(p.Out), Clusters: clusters}
	err := f(ctx, req)
	p.mu.Lock()
	defer p.mu.Unlock()
	errs, took := map[int]error{}, map[int]time.Duration{}
	now := time.Now().UTC()
	for _, n := range clusters {
		errs[n], took[n] = err, time.Since(start)
		if err == nil {
			if c := scratch.Cluster(n); c != nil {
				p.State.Cluster(n).Nodes = c.Nodes
			}
			done(p.State.Cluster(n), now)
		}
	}
	if err == nil {
		if serr := p.Store.Save(p.State); serr != nil {
			for _, n := range clusters {
				errs[n] = serr
			}
		}
	}
	return errs, took
}
