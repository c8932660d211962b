package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/labctl/labctl/health"
	"github.com/labctl/labctl/lab"
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
	var xs []remote.Executor
	for _, c := range u.State.Clusters {
		if !u.failed(c.Index) {
			// The tunnel to the API server leaves the probe round's answers.
			xs = append(xs, u.rawExec(c.Index, "node1"))
		}
	}
	res := remote.Each(ctx, xs, max(1, u.Lab.SSH.Parallel/max(1, u.Lab.NodesPerCluster)), func(ctx context.Context, x1 remote.Executor) error {
		var idx int
		fmt.Sscanf(x1.Name(), "%d/", &idx)
		c := u.State.Cluster(idx)
		start := time.Now()
		err := h.cluster(ctx, c, x1)
		r := lab.PhaseResult{OK: err == nil, At: time.Now().UTC()}
		if err != nil {
			r.Step, r.Error = "health", err.Error()
		} else {
			u.logf("    cluster %02d: healthy in %s (%s)\n", idx, time.Since(start).Round(time.Millisecond), health.Checks)
		}
		u.mu.Lock()
		c.SetPhase("health", r)
		u.mu.Unlock()
		return err
	})
	if err := u.save(); err != nil {
		return err
	}
	return res.Err()
}

func (h *healthPhase) cluster(ctx context.Context, c *lab.Cluster, x1 remote.Executor) error {
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
