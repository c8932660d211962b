package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
	"github.com/labctl/labctl/status"
)

// ErrNoSpare means labctl swap found no spare cluster to give: the lab
// has none, or none is healthy. Nothing changed.
var ErrNoSpare = errors.New("no healthy spare left")

// Swap is one `labctl swap ATTENDEE`: the attendee gets the first healthy
// spare (checked the way labctl status does: every node answers, every
// node Ready, one round of up's health checks), the attendee → cluster
// map changes in one atomic write of the state, and the cluster the
// attendee leaves is hard-reset (new password, new CA) to become a spare
// again, or, with NoReset, marked as needing a reset and left as it is
// for `labctl reset`.
type Swap struct {
	Lab    *lab.Lab
	State  *lab.State
	Store  *lab.Store
	Engine func(pin func(remote.Host, string) error) (*remote.Engine, error)
	Out    io.Writer
	// Attendee is the attendee who needs another cluster.
	Attendee int
	// NoReset leaves the old cluster marked "needs reset".
	NoReset bool
	// SourceDir is up's (a hard reset runs up's phases again).
	SourceDir string
	// Timeout bounds each spare node's probe (status.DefaultTimeout when 0).
	Timeout time.Duration
	// Probe checks the spares' health; nil: status.Probe through the
	// engine, with the health checks (tests replace it).
	Probe func(ctx context.Context, spares *lab.State) []status.Row
	// Confirm, when set, is asked once the spare is chosen and before
	// anything changes; an error stops the swap.
	Confirm func(old, spare int, reset bool) error
	// Swapped is told once the state records the swap, before the old
	// cluster's reset (the attendee can be on the spare meanwhile).
	Swapped func(old, spare int)
	// Reset runs the hard reset of the old cluster; nil: a pipeline.Reset.
	Reset func(ctx context.Context, cluster int) error
	// Now dates the "needs reset" note (time.Now when nil).
	Now func() time.Time
}

// Check refuses, as bad input, an attendee the lab does not have.
func (w *Swap) Check() error {
	if _, ok := w.State.ClusterFor(w.Attendee); !ok {
		have := w.State.AttendeeNumbers()
		span := "none yet: run `labctl up`"
		if len(have) > 0 {
			span = fmt.Sprintf("attendees %d to %d", have[0], have[len(have)-1])
		}
		return fmt.Errorf("%w: ATTENDEE: lab %s has no attendee %d (%s)", ErrBadInput, w.Lab.Name, w.Attendee, span)
	}
	return nil
}

// Run swaps, then resets the old cluster (unless NoReset).
func (w *Swap) Run(ctx context.Context) error {
	if err := w.Check(); err != nil {
		return err
	}
	old, _ := w.State.ClusterFor(w.Attendee)
	if !w.State.Seated() {
		return fmt.Errorf("%w: lab %s has no spare clusters (set spares: N in the lab file and run `labctl up`); nothing changed", ErrNoSpare, w.Lab.Name)
	}
	fmt.Fprintf(w.Out, "==> swap: attendee %02d, now on cluster %02d\n", w.Attendee, old)
	spare, err := w.pick(ctx)
	if err != nil {
		return err
	}
	reset := !w.NoReset
	if reset && w.Lab.Provider.Type == "kind" {
		reset = false
		fmt.Fprintf(w.Out, "    kind clusters are not reset: cluster %02d is marked \"needs reset\" (`labctl destroy --cluster %d --yes`, then `labctl up`, makes it anew as a spare)\n", old, old)
	}
	if w.Confirm != nil {
		if err := w.Confirm(old, spare, reset); err != nil {
			return err
		}
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	why := fmt.Sprintf("attendee %02d's until labctl swap at %s", w.Attendee, now().UTC().Format(time.RFC3339))
	if _, err := w.State.Swap(w.Attendee, spare, why); err != nil {
		return err
	}
	if err := w.Store.Save(w.State); err != nil {
		return err
	}
	fmt.Fprintf(w.Out, "    attendee %02d → cluster %02d (was cluster %02d); cluster %02d is a spare that needs a reset\n", w.Attendee, spare, old, old)
	if w.Swapped != nil {
		w.Swapped(old, spare)
	}
	if !reset {
		fmt.Fprintf(w.Out, "    left as it is: `labctl reset --cluster %d --level hard --new-passwords --yes` makes it a spare again\n", old)
		return nil
	}
	fmt.Fprintf(w.Out, "==> swap: hard reset of cluster %02d (what attendee %02d left on it goes; a new password), to make it a spare again\n", old, w.Attendee)
	run := w.Reset
	if run == nil {
		run = w.hardReset
	}
	if err := run(ctx, old); err != nil {
		return fmt.Errorf("attendee %02d is on cluster %02d, but the reset of cluster %02d failed (it stays marked \"needs reset\"; `labctl reset --cluster %d --level hard --new-passwords --yes` finishes it): %w", w.Attendee, spare, old, old, err)
	}
	fmt.Fprintf(w.Out, "    cluster %02d: a spare again\n", old)
	return nil
}

// pick returns the first healthy spare, in cluster order, or ErrNoSpare
// naming why each spare was passed over.
func (w *Swap) pick(ctx context.Context) (int, error) {
	var why []string
	candidates := &lab.State{Lab: w.State.Lab, Provider: w.State.Provider}
	for _, n := range w.State.Spares() {
		c := w.State.Cluster(n)
		switch {
		case c.NeedsReset != "":
			why = append(why, fmt.Sprintf("cluster %02d needs a reset (%s)", n, c.NeedsReset))
		case c.Stopped():
			why = append(why, fmt.Sprintf("cluster %02d is stopped (`labctl start --cluster %d`)", n, n))
		case len(c.Nodes) == 0:
			why = append(why, fmt.Sprintf("cluster %02d has no nodes (`labctl up`)", n))
		default:
			candidates.Clusters = append(candidates.Clusters, *c)
		}
	}
	if len(w.State.Spares()) == 0 {
		return 0, fmt.Errorf("%w: every cluster of lab %s serves an attendee (raise spares: in the lab file and run `labctl up`); nothing changed", ErrNoSpare, w.Lab.Name)
	}
	if len(candidates.Clusters) > 0 {
		probe := w.Probe
		if probe == nil {
			probe = w.probe
		}
		rows := probe(ctx, candidates)
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		for _, r := range rows {
			if bad := Unhealthy(r); bad != "" {
				why = append(why, fmt.Sprintf("cluster %02d: %s", r.Cluster, bad))
				continue
			}
			fmt.Fprintf(w.Out, "    spare cluster %02d: healthy\n", r.Cluster)
			return r.Cluster, nil
		}
	}
	return 0, fmt.Errorf("%w: %s; nothing changed", ErrNoSpare, strings.Join(why, "; "))
}

// probe is status.Probe with the health checks, through a new engine.
func (w *Swap) probe(ctx context.Context, spares *lab.State) []status.Row {
	eng, err := w.Engine(pinInto(new(sync.Mutex), w.State))
	if err != nil {
		var rows []status.Row
		for _, c := range spares.Clusters {
			rows = append(rows, status.Row{Cluster: c.Index, KubeError: err.Error()})
		}
		return rows
	}
	defer eng.Close()
	return status.Probe(ctx, spares, func(cluster int, node string) remote.Executor {
		return provision.ExecutorFor(eng, spares, cluster, node)
	}, status.Options{Timeout: w.Timeout, Parallel: w.Lab.SSH.Parallel, Health: true})
}

// Unhealthy says why a status row is not a cluster to hand to an
// attendee ("" when it is): a node that does not answer or is not Ready,
// an API server that does not, a failed health check.
func Unhealthy(r status.Row) string {
	switch {
	case r.Power != nil && r.Power.Stopped:
		return "stopped"
	case r.Total == 0:
		return "no nodes"
	case r.Reachable < r.Total || r.KubeError != "":
		return firstNonEmpty(status.Notes(r), fmt.Sprintf("%d of %d nodes answer", r.Reachable, r.Total))
	case r.Ready == nil || *r.Ready < r.Total:
		ready := 0
		if r.Ready != nil {
			ready = *r.Ready
		}
		return fmt.Sprintf("%d of %d nodes Ready", ready, r.Total)
	case r.Health == nil:
		return "health not checked"
	case !r.Health.OK:
		return "health: " + strings.Join(r.Health.Failed, "; ")
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// hardReset is `labctl reset --cluster N --level hard --new-passwords`
// (without new passwords when the lab file sets the password).
func (w *Swap) hardReset(ctx context.Context, cluster int) error {
	r := &Reset{
		Lab: w.Lab, State: w.State, Store: w.Store, Engine: w.Engine, Out: w.Out,
		Clusters: []int{cluster}, Grace: 45 * time.Second, HealthTimeout: 4 * time.Minute,
		Hard: true, SourceDir: w.SourceDir, NewPasswords: w.Lab.Login.Password == "",
	}
	return r.Run(ctx)
}
