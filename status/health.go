package status

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

// askAPI asks the API server of every cluster whose node1 answered with a
// kubeadm cluster, all at once, each within twice the probe timeout: one
// client (one tunnel through node1) per cluster counts the Ready nodes and,
// with o.Health, runs one round of the health checks.
func askAPI(ctx context.Context, clusters []lab.Cluster, rows []Row, exec func(int, string) remote.Executor, o Options, secrets []string) {
	connect := o.Connect
	if connect == nil {
		connect = func(ctx context.Context, c lab.Cluster, x1 remote.Executor) (*kube.Client, error) {
			return kube.Connect(ctx, x1, kube.RecordedOf(&c), nil)
		}
	}
	var wg sync.WaitGroup
	for i, c := range clusters {
		if !rows[i].kubeadm {
			continue // node1 did not answer, or kubeadm has not run
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, 2*o.Timeout)
			defer cancel()
			askCluster(ctx, c, &rows[i], exec, connect, o.Health, secrets)
		})
	}
	wg.Wait()
}

func askCluster(ctx context.Context, c lab.Cluster, row *Row, exec func(int, string) remote.Executor, connect func(context.Context, lab.Cluster, remote.Executor) (*kube.Client, error), withHealth bool, secrets []string) {
	n1 := c.FirstNode()
	fail := func(err error) {
		row.KubeError = redact(fmt.Sprintf("%s: api: %s", n1, oneLine(err.Error())), secrets)
	}
	cl, err := connect(ctx, c, exec(c.Index, n1))
	if err != nil {
		fail(err)
		return
	}
	nodes, err := cl.Typed.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		fail(err)
		return
	}
	registered, ready := CountNodes(nodes.Items)
	row.Registered, row.Ready = &registered, &ready
	if !withHealth {
		return
	}
	xs := map[string]remote.Executor{}
	for _, n := range c.Nodes {
		if x := exec(c.Index, n.Name); x != nil {
			xs[n.Name] = x
		}
	}
	h := &Health{OK: true}
	for _, f := range health.Check(ctx, cl, xs).Findings {
		h.OK = false
		h.Failed = append(h.Failed, redact(f.String(), secrets))
	}
	row.Health = h
}

// CountNodes says how many nodes are registered and how many of them are
// Ready (a cordoned node still is: unschedulable is not a condition).
func CountNodes(nodes []corev1.Node) (registered, ready int) {
	for _, n := range nodes {
		if kube.NodeReady(&n) {
			ready++
		}
	}
	return len(nodes), ready
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
