package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/labctl/labctl/internal/fan"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// Phase is the provision phase: nodes exist, run, and are in the state,
// each cluster with its login.
type Phase struct {
	Provider Provider
	Request  Request
	// Save persists the state; called even when provisioning failed part-way
	// so what did get created is remembered.
	Save func() error
}

func (p *Phase) Title() string { return "provision (" + p.Request.Lab.Provider.Type + ")" }

func (p *Phase) Run(ctx context.Context) error {
	r := p.Request
	r.State.Lab = r.Lab.Name
	r.State.Provider.Type = r.Lab.Provider.Type
	err := p.Provider.Provision(ctx, r)
	if lerr := lab.EnsureLogins(r.Lab, r.State); lerr != nil && err == nil {
		err = lerr
	}
	// Which cluster serves which attendee: kept across runs, completed for
	// new attendees; the clusters left over are the spares.
	r.State.Seat(r.Lab.Attendees, r.Lab.Spares)
	now := time.Now().UTC()
	r.State.EndsAt = nil
	if end, ok := r.Lab.End(); ok {
		r.State.EndsAt = &end
	}
	for i := range r.State.Clusters {
		c := &r.State.Clusters[i]
		c.SetPhase("provision", lab.PhaseResult{OK: len(c.Nodes) == r.Lab.NodesPerCluster, At: now})
		if c.Stopped() && err == nil {
			c.SetStopped(false, now) // provision starts stopped machines
		}
	}
	if serr := p.Save(); serr != nil {
		return errors.Join(err, serr)
	}
	if err != nil {
		return err
	}
	for _, c := range r.State.Clusters {
		fmt.Fprintf(r.Out, "    cluster %02d:", c.Index)
		if r.State.Seated() {
			if a := r.State.AttendeeOf(c.Index); a > 0 {
				fmt.Fprintf(r.Out, " attendee %02d", a)
			} else {
				fmt.Fprint(r.Out, " spare")
			}
		}
		for _, n := range c.Nodes {
			fmt.Fprintf(r.Out, " %s=%s", n.Name, n.PublicAddress)
		}
		fmt.Fprintln(r.Out)
	}
	return nil
}

// DryRun says which clusters and nodes are new, or prints the provider's
// own plan when it has one.
func (p *Phase) DryRun(ctx context.Context, w io.Writer) error {
	if pl, ok := p.Provider.(Planner); ok {
		return pl.Plan(ctx, p.Request, w)
	}
	l, s := p.Request.Lab, p.Request.State
	for c := 1; c <= l.ClusterCount(); c++ {
		for n := 1; n <= l.NodesPerCluster; n++ {
			name := lab.NodeName(n)
			verb := "create"
			if cl := s.Cluster(c); cl != nil && cl.Node(name) != nil {
				verb = "check"
			}
			fmt.Fprintf(w, "    %s %s with provider %s\n", verb, lab.Label(c, name), l.Provider.Type)
		}
	}
	return nil
}

// ReachPhase logs into every node once, so an unreachable node fails its
// cluster here, with its name, rather than half-way through nodeprep. The
// other clusters go on.
type ReachPhase struct {
	// Context: State, Exec, Parallel, Out and Save (the state keeps host
	// keys met for the first time, and results); every cluster is reached.
	phase.Context
	// Timeout bounds each node's login and probe (a minute when 0): more
	// than the engine's connection budget, so that a slow node is not
	// given up before the engine did.
	Timeout time.Duration
}

func (p *ReachPhase) Title() string { return "reach every node over SSH" }

// reachProbe is the command that proves a node can be logged into.
const reachProbe = "true"

// Probes is each node's probe, by node label, for the run's probe round.
func (p *ReachPhase) Probes() (map[string][]string, error) {
	probes := map[string][]string{}
	for _, c := range p.State.Clusters {
		for _, n := range c.Nodes {
			probes[lab.Label(c.Index, n.Name)] = []string{reachProbe}
		}
	}
	return probes, nil
}

func (p *ReachPhase) Run(ctx context.Context) error {
	var ts []phase.Target
	for _, c := range p.State.Clusters {
		for _, n := range c.Nodes {
			ts = append(ts, p.Target(c.Index, n.Name))
		}
	}
	parallel := p.Parallel
	if parallel < 1 {
		parallel = remote.DefaultParallel
	}
	errs := fan.Each(ctx, len(ts), parallel, func(ctx context.Context, i int) error {
		x := ts[i]
		timeout := p.Timeout
		if timeout <= 0 {
			timeout = time.Minute
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		_, err := x.Run(ctx, remote.Command{Line: reachProbe})
		return err
	})
	// A cluster is unreachable with its first node that is.
	failed := map[int]phase.Outcome{}
	res := make(remote.Results, len(ts))
	for i, t := range ts {
		res[i] = remote.HostResult{Host: t.Name(), Err: errs[i]}
		if _, seen := failed[t.Cluster]; errs[i] != nil && !seen {
			failed[t.Cluster] = phase.Outcome{Cluster: t.Cluster, Phase: "reach", Step: t.String() + " ssh", Err: errs[i]}
		}
	}
	for _, c := range p.State.Clusters {
		o, ok := failed[c.Index]
		if !ok {
			o = phase.Outcome{Cluster: c.Index, Phase: "reach"}
		}
		p.Done(o)
	}
	fmt.Fprintf(p.Out, "    %d of %d nodes reachable\n", len(res)-res.Failed(), len(res))
	if err := p.Save(); err != nil {
		return err
	}
	return res.Err()
}
