package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/labctl/labctl/internal/fan"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
	"github.com/labctl/labctl/reset"
)

// rebuild are the phases of up a hard reset runs again: the nodes keep
// what nodeprep installed and the images coins preloaded, so nothing is
// downloaded.
var rebuild = phasesFrom("kubeadm", "baseline")

// hard resets clusters: on each node the soft node cleanup, then kubeadm
// reset and the CNI's and kube-proxy's state; then up's phases from
// kubeadm on, for these clusters only.
func (r *Reset) hard(ctx context.Context, clusters []*lab.Cluster) error {
	if r.DryRun {
		for _, c := range clusters {
			r.logf("    cluster %02d: on %s: the soft node cleanup, then kubeadm reset, CNI configuration and interfaces, Kubernetes' iptables rules removed\n", c.Index, nodeNames(c))
			r.logf("    cluster %02d: then kubeadm, add-ons, DockerCoins, health and baseline as in up, with what is on the nodes; a new CA: the attendee's kubeconfig is replaced\n", c.Index)
		}
		return nil
	}
	errs := make([]error, len(clusters))
	fan.Do(len(clusters), r.Lab.SSH.Parallel, func(i int) {
		errs[i] = r.hardNodes(ctx, clusters[i])
	})
	var ok []int
	var failed []error
	for i, c := range clusters {
		if errs[i] != nil {
			r.logf("    cluster %02d: FAILED at %s\n", c.Index, remote.Escape(errs[i].Error()))
			c.SetPhase("reset", lab.PhaseResult{At: time.Now().UTC(), Step: stepOf(errs[i]), Error: errs[i].Error()})
			failed = append(failed, fmt.Errorf("cluster %02d (%s)", c.Index, stepOf(errs[i])))
			continue
		}
		// The control plane is gone: so are its credentials, its CA (the
		// rebuild's kubeadm init records the new one) and what labctl
		// remembered having applied to it.
		c.Kubeconfig, c.CA, c.Addons, c.HealthProbes = "", "", "", nil
		ok = append(ok, c.Index)
	}
	if err := r.Store.Save(r.State); err != nil {
		return err
	}
	if len(ok) > 0 {
		r.logf("    clusters %v: nodes reset; rebuilding (a new CA: the attendees' kubeconfig is replaced)\n", ok)
		phases := rebuild
		if r.NewPasswords {
			var sel []*lab.Cluster
			for _, n := range ok {
				sel = append(sel, r.State.Cluster(n))
			}
			if err := r.rotate(ctx, sel); err != nil {
				return err
			}
			r.logf("    clusters %v: new passwords and SSH keys; `labctl cards` prints the new cards\n", ok)
			phases = append([]string{"nodeprep"}, rebuild...)
		}
		u := &Up{Lab: r.Lab, State: r.State, Store: r.Store, Engine: r.Engine, Out: r.Out,
			SourceDir: r.SourceDir, Clusters: ok, Phases: phases}
		if err := u.Run(ctx); err != nil {
			failed = append(failed, err)
		}
		for _, n := range ok {
			c := r.State.Cluster(n)
			c.SetPhase("reset", lab.PhaseResult{OK: !u.failed(n), At: time.Now().UTC()})
			if !u.failed(n) {
				c.NeedsReset = "" // a spare again (see labctl swap)
			}
		}
		if err := r.Store.Save(r.State); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("hard reset: %w (a re-run finishes it)", errors.Join(failed...))
	}
	return nil
}

func (r *Reset) hardNodes(ctx context.Context, c *lab.Cluster) error {
	if _, err := reset.Load(r.Store.Dir(), c.Index); err != nil {
		return stepErr("baseline", err)
	}
	nodes := nodeExecs(r.State, r.eng, c)
	if _, err := reset.OnNodes(ctx, nodes, "soft", c.Login.User); err != nil {
		return stepErr("node cleanup", fmt.Errorf("cluster %02d: %w", c.Index, err))
	}
	if _, err := reset.OnNodes(ctx, nodes, "hard", c.Login.User); err != nil {
		return stepErr("kubeadm reset", fmt.Errorf("cluster %02d: %w", c.Index, err))
	}
	return nil
}

func stepOf(err error) string {
	var se *reset.StepError
	if errors.As(err, &se) {
		return se.Step
	}
	return "reset"
}
