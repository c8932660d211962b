package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/labctl/labctl/health"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// healthPhase proves every cluster can run the course (package health)
// before the report calls it ok. A fresh cluster gets a few minutes for
// CoreDNS and the probe pods to come up; a healthy one answers at once.
type healthPhase struct {
	u       *Up
	timeout time.Duration
}

func (h *healthPhase) Title() string { return "health" }

func (h *healthPhase) Run(ctx context.Context) error {
	u := h.u
	px := u.phaseContext()
	err := px.EachCluster(ctx, func(ctx context.Context, c *lab.Cluster) error {
		start := time.Now()
		err := h.cluster(ctx, c)
		if err == nil {
			u.logf("    cluster %02d: healthy in %s (%s)\n", c.Index, time.Since(start).Round(time.Millisecond), health.Checks)
		}
		px.Done(phase.Outcome{Cluster: c.Index, Phase: "health", Step: "health", Err: err})
		return err
	})
	if serr := u.save(); serr != nil {
		return serr
	}
	return err
}

func (h *healthPhase) cluster(ctx context.Context, c *lab.Cluster) error {
	u := h.u
	cl, err := u.kube(ctx, c.Index)
	if err != nil {
		return fmt.Errorf("cluster %02d: %w", c.Index, err)
	}
	// Through the probe round's executors: on a re-run, the commands the
	// last passing round ran were asked in this run's probe round.
	nodes := map[string]remote.Executor{}
	for _, n := range c.Nodes {
		nodes[n.Name] = u.exec(c.Index, n.Name)
	}
	r := health.Wait(ctx, cl, nodes, h.timeout, 3*time.Second)
	if len(r.Findings) > 0 {
		return &HealthError{Cluster: c.Index, Findings: r.Findings}
	}
	u.mu.Lock()
	c.HealthProbes = r.Probes
	u.mu.Unlock()
	return nil
}

// Probes are the commands the last passing checks ran, asked again in the
// run's probe round (see health.Result.Probes).
func (h *healthPhase) Probes() (map[string][]string, error) {
	probes := map[string][]string{}
	for _, c := range h.u.State.Clusters {
		if h.u.left(c.Index) {
			continue
		}
		for node, line := range c.HealthProbes {
			probes[lab.Label(c.Index, node)] = append(probes[lab.Label(c.Index, node)], line)
		}
	}
	return probes, nil
}

// HealthError is a cluster that failed its health checks.
type HealthError struct {
	Cluster  int
	Findings []health.Finding
}

func (e *HealthError) Error() string {
	return fmt.Sprintf("cluster %02d: %d health checks failed:\n%s", e.Cluster, len(e.Findings), health.Summary(e.Findings))
}
