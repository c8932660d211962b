package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labctl/labctl/internal/fan"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
)

// Power is one `labctl stop` or `labctl start`: the selected clusters'
// machines stopped (kept, disks and all) or started again and brought
// back to health. One cluster that fails is named; the others finish.
type Power struct {
	Lab      *lab.Lab
	State    *lab.State
	Store    *lab.Store
	Provider provision.Provider
	Engine   func(pin func(remote.Host, string) error) (*remote.Engine, error)
	Out      io.Writer
	// Clusters are the ones to stop or start (empty: all).
	Clusters  []int
	SourceDir string
	// Parallel bounds the clusters stopped or started at once.
	Parallel int

	mu    sync.Mutex
	fleet bool // the provider does all clusters in one call (powerfleet.go)
}

// powerer is the provider's stop and start, or a bad-input error saying
// why this lab's machines are not labctl's to stop.
func (p *Power) powerer() (provision.Powerer, error) {
	if pw, ok := p.Provider.(provision.Powerer); ok {
		return pw, p.planFleet(pw)
	}
	if p.Lab.Provider.Type == "inventory" {
		return nil, fmt.Errorf("%w: provider inventory: labctl does not own these machines; stop and start them yourself, then `labctl up` checks them", ErrBadInput)
	}
	return nil, fmt.Errorf("stop and start with provider %s: %w", p.Lab.Provider.Type, ErrUnavailable)
}

// Check refuses what Stop and Start would refuse before touching a
// machine: a provider whose machines are not labctl's, a cluster the lab
// does not have.
func (p *Power) Check() error {
	if _, err := p.powerer(); err != nil {
		return err
	}
	_, err := p.selected()
	return err
}

// selected are the clusters to act on, or a bad-input error naming the
// first the lab does not have.
func (p *Power) selected() ([]int, error) {
	if len(p.State.Clusters) == 0 {
		return nil, fmt.Errorf("no clusters yet: run `labctl up` first")
	}
	if len(p.Clusters) == 0 {
		var all []int
		for _, c := range p.State.Clusters {
			all = append(all, c.Index)
		}
		return all, nil
	}
	var out []int
	for _, n := range p.Clusters {
		if p.State.Cluster(n) == nil {
			return nil, fmt.Errorf("%w: --cluster %d: the lab has no cluster %d", ErrBadInput, n, n)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// each runs f on every cluster at once (at most p.Parallel), recording
// each outcome in the state as it comes and saving it, so that a run
// killed half-way keeps what was done.
func (p *Power) each(ctx context.Context, clusters []int, f func(context.Context, provision.Request) error, done func(c *lab.Cluster, now time.Time)) (map[int]error, map[int]time.Duration) {
	if p.fleet {
		return p.eachFleet(ctx, clusters, f, done)
	}
	errs := map[int]error{}
	took := map[int]time.Duration{}
	fan.Do(len(clusters), p.Parallel, func(i int) {
		n := clusters[i]
		start := time.Now()
		// The provider works on a copy of its cluster, merged under the
		// lock: clusters stop and start at once.
		p.mu.Lock()
		cc := *p.State.Cluster(n)
		cc.Nodes = slices.Clone(cc.Nodes)
		scratch := &lab.State{Lab: p.State.Lab, Provider: p.State.Provider, Clusters: []lab.Cluster{cc}}
		p.mu.Unlock()
		req := provision.Request{Lab: p.Lab, StateDir: p.Store.Dir(), State: scratch, Out: remote.Indent(p.Out), Clusters: []int{n}}
		err := f(ctx, req)
		p.mu.Lock()
		defer p.mu.Unlock()
		errs[n], took[n] = err, time.Since(start)
		if err == nil {
			p.State.Cluster(n).Nodes = scratch.Clusters[0].Nodes
			done(p.State.Cluster(n), time.Now().UTC())
			if serr := p.Store.Save(p.State); serr != nil {
				errs[n] = serr
			}
		}
	})
	return errs, took
}

// Stop halts the selected clusters' machines.
func (p *Power) Stop(ctx context.Context) error {
	pw, err := p.powerer()
	if err != nil {
		return err
	}
	clusters, err := p.selected()
	if err != nil {
		return err
	}
	fmt.Fprintf(p.Out, "==> stop clusters %s\n", list(clusters))
	p.quiesce(ctx, clusters)
	errs, took := p.each(ctx, clusters, pw.Stop, func(c *lab.Cluster, now time.Time) { c.SetStopped(true, now) })
	fmt.Fprintln(p.Out, "==> report")
	var failed []string
	for _, n := range clusters {
		if errs[n] != nil {
			fmt.Fprintf(p.Out, "    cluster %02d: FAILED to stop: %s\n", n, firstLineOf(errs[n].Error()))
			failed = append(failed, fmt.Sprintf("cluster %02d", n))
			continue
		}
		fmt.Fprintf(p.Out, "    cluster %02d: stopped in %s\n", n, took[n].Round(100*time.Millisecond))
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d clusters failed to stop: %s (a re-run finishes it)", len(failed), len(clusters), strings.Join(failed, ", "))
	}
	return ctx.Err()
}

// startPhases are up's phases a start runs again: each probes first and
// repairs only what the restart broke, then health gates the cluster.
// Not provision (Start did it) and not baseline (what attendees made since
// up is theirs, not the baseline's).
var startPhases = phasesFrom("nodeprep", "health")

// Start starts the selected clusters' machines, then runs up's checks
// on them: every started cluster must pass the drift checks (repaired
// where a restart broke something) and the health gate.
func (p *Power) Start(ctx context.Context) error {
	pw, err := p.powerer()
	if err != nil {
		return err
	}
	clusters, err := p.selected()
	if err != nil {
		return err
	}
	t0 := time.Now()
	fmt.Fprintf(p.Out, "==> start clusters %s\n", list(clusters))
	errs, took := p.each(ctx, clusters, pw.Start, func(c *lab.Cluster, now time.Time) { c.SetStopped(false, now) })
	var up []int
	for _, n := range clusters {
		if errs[n] != nil {
			fmt.Fprintf(p.Out, "    cluster %02d: FAILED to start: %s\n", n, firstLineOf(errs[n].Error()))
			continue
		}
		fmt.Fprintf(p.Out, "    cluster %02d: machines up and reachable in %s\n", n, took[n].Round(100*time.Millisecond))
		up = append(up, n)
	}
	var upErr error
	if len(up) > 0 {
		u := &Up{Lab: p.Lab, State: p.State, Store: p.Store, Engine: p.Engine, Out: p.Out,
			SourceDir: p.SourceDir, Clusters: up, Phases: startPhases}
		upErr = u.Run(ctx)
	}
	fmt.Fprintln(p.Out, "==> start report")
	var failed []string
	for _, n := range clusters {
		c := p.State.Cluster(n)
		h, ok := c.Phases["health"]
		switch {
		case errs[n] != nil:
			failed = append(failed, fmt.Sprintf("cluster %02d (start)", n))
			fmt.Fprintf(p.Out, "    cluster %02d: FAILED to start: %s\n", n, firstLineOf(errs[n].Error()))
		case ok && h.OK && h.At.After(t0):
			fmt.Fprintf(p.Out, "    cluster %02d: healthy %s after start\n", n, h.At.Sub(t0).Round(100*time.Millisecond))
		default:
			failed = append(failed, fmt.Sprintf("cluster %02d", n))
			fmt.Fprintf(p.Out, "    cluster %02d: NOT healthy (see the report above)\n", n)
		}
	}
	if len(failed) > 0 {
		return errors.Join(fmt.Errorf("%d of %d clusters did not come back: %s", len(failed), len(clusters), strings.Join(failed, ", ")), upErr)
	}
	return upErr
}

func list(clusters []int) string {
	s := make([]string, len(clusters))
	for i, n := range clusters {
		s[i] = fmt.Sprintf("%02d", n)
	}
	return strings.Join(s, ", ")
}

// checkEnd refuses to create machines for a class whose end date passed.
func checkEnd(l *lab.Lab, now time.Time) error {
	if end, ok := l.End(); ok && l.Ended(now) {
		return fmt.Errorf("%w: endsAt: the class ended %s ago (%s); up creates no machines for it (move endsAt, or `labctl destroy`)", ErrBadInput, now.Sub(end).Round(time.Minute), end.Format(time.RFC3339))
	}
	return nil
}
