package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/labctl/labctl/health"
	"github.com/labctl/labctl/kube"
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
	cl, err := kube.Connect(ctx, x1)
	if err != nil {
		return fmt.Errorf("cluster %02d: %w", c.Index, err)
	}
	nodes := map[string]remote.Executor{}
	for _, n := range c.Nodes {
		nodes[n.Name] = h.u.rawExec(c.Index, n.Name)
	}
	f := health.Wait(ctx, cl, nodes, h.timeout, 3*time.Second)
	if len(f) == 0 {
		return nil
	}
	return &HealthError{Cluster: c.Index, Findings: f}
}

// HealthError is a cluster that failed its health checks.
type HealthError struct {
	Cluster  int
	Findings []health.Finding
}

func (e *HealthError) Error() string {
	return fmt.Sprintf("cluster %02d: %d health checks failed:\n%s", e.Cluster, len(e.Findings), health.Summary(e.Findings))
}
