package status

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/labctl/labctl/health"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// Health is one round of the health checks `labctl up` gates on.
type Health struct {
	OK bool `json:"ok"`
	// Failed lists each failed check: node, check and what it saw.
	Failed []string `json:"failed,omitempty"`
}

// checkHealth runs one round of the checks on every cluster whose node1
// answered with a kubeadm cluster, all at once, each within timeout.
func checkHealth(ctx context.Context, clusters []lab.Cluster, rows []Row, exec func(int, string) remote.Executor, timeout time.Duration, secrets []string) {
	var wg sync.WaitGroup
	for i, c := range clusters {
		if rows[i].Ready == nil {
			continue // node1 did not answer, or kubeadm has not run
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			rows[i].Health = clusterHealth(ctx, c, exec, secrets)
		})
	}
	wg.Wait()
}

func clusterHealth(ctx context.Context, c lab.Cluster, exec func(int, string) remote.Executor, secrets []string) *Health {
	x1 := exec(c.Index, firstNode(c))
	cl, err := kube.Connect(ctx, x1, []byte(c.Kubeconfig), nil)
	if err != nil {
		return &Health{Failed: []string{redact(fmt.Sprintf("%s: api: %v", firstNode(c), oneLine(err.Error())), secrets)}}
	}
	nodes := map[string]remote.Executor{}
	for _, n := range c.Nodes {
		if x := exec(c.Index, n.Name); x != nil {
			nodes[n.Name] = x
		}
	}
	h := &Health{OK: true}
	for _, f := range health.Check(ctx, cl, nodes).Findings {
		h.OK = false
		h.Failed = append(h.Failed, redact(f.String(), secrets))
	}
	return h
}

func healthCell(h *Health) string {
	switch {
	case h == nil:
		return "-"
	case h.OK:
		return "ok"
	}
	return fmt.Sprintf("%d failed", len(h.Failed))
}
