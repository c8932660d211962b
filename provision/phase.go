package provision

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/labctl/labctl/lab"
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
	State    *lab.State
	Exec     func(cluster int, node string) remote.Executor
	Parallel int
	// Timeout bounds each node's login and probe (a minute when 0): more
	// than the engine's connection budget, so that a slow node is not
	// given up before the engine did.
	Timeout time.Duration
	Out     io.Writer
	// Save persists the state (host keys met for the first time, results).
	Save func() error
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
	var xs []remote.Executor
	for _, c := range p.State.Clusters {
		for _, n := range c.Nodes {
			xs = append(xs, p.Exec(c.Index, n.Name))
		}
	}
	res := remote.Each(ctx, xs, p.Parallel, func(ctx context.Context, x remote.Executor) error {
		timeout := p.Timeout
		if timeout <= 0 {
			timeout = time.Minute
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		_, err := x.Run(ctx, remote.Command{Line: reachProbe})
		return err
	})
	now := time.Now().UTC()
	for i := range p.State.Clusters {
		c := &p.State.Clusters[i]
		r := lab.PhaseResult{OK: true, At: now}
		for _, h := range res {
			if h.Err != nil && strings.HasPrefix(h.Host, fmt.Sprintf("%02d/", c.Index)) {
				r = lab.PhaseResult{OK: false, At: now, Step: h.Host + " ssh", Error: h.Err.Error()}
				break
			}
		}
		c.SetPhase("reach", r)
	}
	fmt.Fprintf(p.Out, "    %d of %d nodes reachable\n", len(res)-res.Failed(), len(res))
	if err := p.Save(); err != nil {
		return err
	}
	return res.Err()
}
