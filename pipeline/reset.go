package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labctl/labctl/health"
	"github.com/labctl/labctl/internal/fan"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
	"github.com/labctl/labctl/reset"
)

// Reset is one `labctl reset`: the selected clusters back to the baseline
// their last up recorded, all at once. A cluster that fails is reported
// with its step; the others finish. Every step compares with the
// baseline first, so a re-run finishes an interrupted reset.
type Reset struct {
	Lab    *lab.Lab
	State  *lab.State
	Store  *lab.Store
	Engine func(pin func(remote.Host, string) error) (*remote.Engine, error)
	Out    io.Writer
	// Clusters are the ones to reset (empty: all).
	Clusters []int
	DryRun   bool
	// Grace is how long deleted objects get before their finalizers are
	// removed; HealthTimeout bounds the health gate.
	Grace, HealthTimeout time.Duration
	// Hard rebuilds the control plane (see hard); SourceDir is up's.
	Hard      bool
	SourceDir string
	// NewPasswords rotates the passwords and intra-cluster keys.
	NewPasswords bool

	mu  sync.Mutex
	eng *remote.Engine
}

// Selected are the clusters to reset, or a bad-input error naming the
// first that the lab does not have.
func (r *Reset) Selected() ([]*lab.Cluster, error) {
	var out []*lab.Cluster
	if len(r.Clusters) == 0 {
		for i := range r.State.Clusters {
			out = append(out, &r.State.Clusters[i])
		}
		return out, nil
	}
	for _, n := range r.Clusters {
		c := r.State.Cluster(n)
		if c == nil {
			return nil, fmt.Errorf("%w: --cluster %d: the lab has clusters 1 to %d", ErrBadInput, n, len(r.State.Clusters))
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (r *Reset) logf(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.Out, format, a...)
}

// Run resets the clusters and prints a report, one line per cluster.
func (r *Reset) Run(ctx context.Context) error {
	clusters, err := r.Selected()
	if err != nil {
		return err
	}
	if len(clusters) == 0 {
		return fmt.Errorf("no clusters yet: run `labctl up` first")
	}
	if r.Lab.Provider.Type == "kind" {
		return fmt.Errorf("reset of kind clusters: %w (a kind cluster is recreated in about a minute: labctl destroy --cluster N --yes, then labctl up)", ErrUnavailable)
	}
	r.eng, err = r.Engine(pinInto(&r.mu, r.State))
	if err != nil {
		return err
	}
	defer r.eng.Close()
	level := "soft"
	if r.Hard {
		level = "hard"
	}
	if r.DryRun {
		fmt.Fprintf(r.Out, "==> reset, %s (dry run: nothing is changed)\n", level)
	} else {
		fmt.Fprintf(r.Out, "==> reset, %s\n", level)
	}
	if r.Hard {
		return r.hard(ctx, clusters)
	}
	errs := make([]error, len(clusters))
	took := make([]time.Duration, len(clusters))
	fan.Do(len(clusters), r.Lab.SSH.Parallel, func(i int) {
		start := time.Now()
		errs[i] = r.cluster(ctx, clusters[i])
		took[i] = time.Since(start)
	})
	if r.DryRun {
		if r.NewPasswords {
			fmt.Fprintln(r.Out, "    then new passwords and intra-cluster SSH keys (nodeprep's login step), and the baseline again")
		}
		return errors.Join(errs...)
	}
	if r.NewPasswords {
		var done []*lab.Cluster
		for i, c := range clusters {
			if errs[i] == nil {
				done = append(done, c)
			}
		}
		if err := r.newPasswords(ctx, done, "nodeprep", "baseline"); err != nil {
			for i := range clusters {
				if errs[i] == nil {
					errs[i] = &reset.StepError{Step: "new passwords", Err: err}
				}
			}
		}
	}
	fmt.Fprintln(r.Out, "==> report")
	var failed []string
	for i, c := range clusters {
		res := lab.PhaseResult{OK: errs[i] == nil, At: time.Now().UTC()}
		if errs[i] == nil {
			c.NeedsReset = "" // a spare again (see labctl swap)
			fmt.Fprintf(r.Out, "    cluster %02d%s: reset to its baseline in %s; health ok\n", c.Index, seatNote(r.State, c.Index), took[i].Round(100*time.Millisecond))
		} else {
			res.Step, res.Error = "reset", errs[i].Error()
			var why error = errs[i]
			var se *reset.StepError
			if errors.As(errs[i], &se) {
				res.Step, why = se.Step, se.Err
			}
			fmt.Fprintf(r.Out, "    cluster %02d: FAILED at %s: %s\n", c.Index, res.Step, remote.Escape(why.Error()))
			failed = append(failed, fmt.Sprintf("cluster %02d (%s)", c.Index, res.Step))
		}
		c.SetPhase("reset", res)
	}
	if err := r.Store.Save(r.State); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d clusters failed to reset: %s (a re-run finishes it)", len(failed), len(clusters), strings.Join(failed, "; "))
	}
	return ctx.Err()
}

func stepErr(name string, err error) error {
	var se *reset.StepError
	if err == nil || errors.As(err, &se) {
		return err
	}
	return &reset.StepError{Step: name, Err: err}
}

// cluster soft-resets cluster c.
func (r *Reset) cluster(ctx context.Context, c *lab.Cluster) error {
	base, err := reset.Load(r.Store.Dir(), c.Index)
	if err != nil {
		return stepErr("baseline", err)
	}
	x1 := provision.ExecutorFor(r.eng, r.State, c.Index, "node1")
	r.mu.Lock()
	rec := kube.RecordedOf(c)
	r.mu.Unlock()
	cl, err := kube.Connect(ctx, x1, rec, func(kc, ca []byte) {
		r.mu.Lock()
		c.Kubeconfig, c.CA = string(kc), string(ca)
		r.mu.Unlock()
	})
	if err != nil {
		return stepErr("connect", err)
	}
	cur, err := reset.Take(ctx, cl)
	if err != nil {
		return stepErr("list objects", err)
	}
	if err := base.Matches(r.Lab.Name, cur); err != nil {
		return stepErr("baseline", err)
	}
	for _, gv := range cur.Unavailable {
		what := "not the baseline's: its APIService goes"
		if slices.Contains(base.UnavailableIn(cur), gv) {
			what = "the baseline's: its objects are checked once it answers again"
		}
		r.logf("    cluster %02d: API group %s is unavailable, not listed (%s)\n", c.Index, gv, what)
	}
	plan := reset.Diff(base.Snapshot, cur)
	if r.DryRun {
		var b bytes.Buffer
		plan.Print(&b, c.Index)
		fmt.Fprintf(&b, "    cluster %02d: on %s: stop %s's processes; home directory back to the baseline's files; Docker containers, volumes, networks and images not preloaded removed; containerd images not preloaded removed; /tmp entries made since the baseline removed\n",
			c.Index, nodeNames(c), c.Login.User)
		r.logf("%s", b.String())
		return nil
	}
	r.logf("    cluster %02d: %d objects to delete, %d pods to stop, %d to re-create, %d to restore, %d nodes to put back\n",
		c.Index, len(plan.Delete), len(plan.Pods), len(plan.Create), len(plan.Update), len(plan.Nodes))
	api := &reset.API{Client: cl, Grace: r.Grace, Logf: r.logf}
	if err := api.Apply(ctx, plan); err != nil {
		return err
	}
	nodes := nodeExecs(r.State, r.eng, c)
	fps, err := reset.OnNodes(ctx, nodes, "soft", c.Login.User)
	if err != nil {
		return stepErr("node cleanup", err)
	}
	if err := base.CheckNodes(fps); err != nil {
		return stepErr("node check", err)
	}
	hr := health.Wait(ctx, cl, nodes, r.HealthTimeout, 3*time.Second)
	if len(hr.Findings) > 0 {
		return stepErr("health", &HealthError{Cluster: c.Index, Findings: hr.Findings})
	}
	// The proof: listed again, the cluster differs from its baseline in
	// nothing, and every API group answers. The garbage collector and the
	// kubelet (mirror Pods of removed manifests) get a short while.
	return stepErr("check", r.check(ctx, cl, base, c.Index, time.Now().Add(checkWait)))
}

// checkWait bounds how long the check waits for what others remove: the
// collector's dependents, the kubelet's mirror Pods, an aggregated API.
const checkWait = 60 * time.Second

func (r *Reset) check(ctx context.Context, cl *kube.Client, base *reset.Baseline, cluster int, deadline time.Time) error {
	for {
		after, err := reset.Take(ctx, cl)
		if err != nil {
			return err
		}
		left := reset.Diff(base.Snapshot, after)
		if left.Empty() && len(after.Unavailable) == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			if !left.Empty() {
				var b bytes.Buffer
				left.Print(&b, cluster)
				return fmt.Errorf("cluster %02d still differs from its baseline:\n%s", cluster, strings.TrimRight(b.String(), "\n"))
			}
			return fmt.Errorf("cluster %02d: API groups %s still unavailable: their objects cannot be checked", cluster, strings.Join(after.Unavailable, ", "))
		}
		select {
		case <-ctx.Done():
		case <-time.After(3 * time.Second):
		}
	}
}

func nodeNames(c *lab.Cluster) string {
	var s []string
	for _, n := range c.Nodes {
		s = append(s, n.Name)
	}
	return strings.Join(s, ", ")
}

// newPasswords rotates the clusters' passwords and keys, then runs up's
// phases (nodeprep sets them on the nodes) for these clusters only.
func (r *Reset) newPasswords(ctx context.Context, clusters []*lab.Cluster, phases ...string) error {
	if len(clusters) == 0 {
		return nil
	}
	if err := r.rotate(ctx, clusters); err != nil {
		return err
	}
	var idx []int
	for _, c := range clusters {
		idx = append(idx, c.Index)
	}
	r.logf("    clusters %v: new passwords and SSH keys; `labctl cards` prints the new cards\n", idx)
	u := &Up{Lab: r.Lab, State: r.State, Store: r.Store, Engine: r.Engine, Out: r.Out,
		SourceDir: r.SourceDir, Clusters: idx, Phases: phases}
	return u.Run(ctx)
}
