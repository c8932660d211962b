package nodeprep

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// waitAPI polls node1 until its API server answers /readyz: after a
// reboot, node1's kubelet takes a while to bring the control plane back.
func (p *ClusterPhase) waitAPI(ctx context.Context, x1 remote.Executor) error {
	deadline := time.Now().Add(p.ReadyTimeout)
	for {
		_, err := x1.Run(ctx, remote.Command{Line: "KUBECONFIG=/etc/kubernetes/admin.conf kubectl get --raw /readyz 2>&1"})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return &StepError{Host: x1.Name(), Step: "wait for the API server", Err: fmt.Errorf("not ready after %s: %w", p.ReadyTimeout, err)}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// waitReady polls node1 until every node is Ready; on timeout it names the
// nodes still not Ready and says why (whyNotReady).
func (p *ClusterPhase) waitReady(ctx context.Context, c *lab.Cluster, x1 remote.Executor) error {
	deadline := time.Now().Add(p.ReadyTimeout)
	var notReady []string
	for {
		out, err := p.step(ctx, x1, "wait for Ready", remote.Command{Line: "KUBECONFIG=/etc/kubernetes/admin.conf kubectl get nodes --no-headers"})
		if err == nil {
			notReady = notReadyNodes(out, c)
			if len(notReady) == 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			var why []string
			for _, n := range notReady {
				why = append(why, p.whyNotReady(ctx, c, x1, n))
			}
			return &StepError{Host: x1.Name(), Step: "wait for Ready", Err: fmt.Errorf("not Ready after %s: %s", p.ReadyTimeout, strings.Join(why, " | "))}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
}

// waitRegistered polls node1 until every node of c is known to the API
// server, Ready or not: with a CNI add-on, nodes are NotReady until the
// addons phase.
func (p *ClusterPhase) waitRegistered(ctx context.Context, c *lab.Cluster, x1 remote.Executor) error {
	deadline := time.Now().Add(p.ReadyTimeout)
	var missing []string
	for {
		out, err := p.step(ctx, x1, "wait for the nodes", remote.Command{Line: "KUBECONFIG=/etc/kubernetes/admin.conf kubectl get nodes --no-headers"})
		if err == nil {
			if missing = unregisteredNodes(out, c); len(missing) == 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return &StepError{Host: x1.Name(), Step: "wait for the nodes", Err: fmt.Errorf("not registered after %s: %s", p.ReadyTimeout, strings.Join(missing, ", "))}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
}

// unregisteredNodes lists the cluster's nodes missing from `kubectl get
// nodes`.
func unregisteredNodes(out string, c *lab.Cluster) []string {
	listed := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			listed[f[0]] = true
		}
	}
	var missing []string
	for _, n := range c.Nodes {
		if !listed[n.Name] {
			missing = append(missing, n.Name)
		}
	}
	return missing
}

// notReadyNodes lists the cluster's nodes that `kubectl get nodes` does
// not show as Ready.
func notReadyNodes(out string, c *lab.Cluster) []string {
	ready := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			for _, s := range strings.Split(f[1], ",") {
				if s == "Ready" {
					ready[f[0]] = true
				}
			}
		}
	}
	var missing []string
	for _, n := range c.Nodes {
		if !ready[n.Name] {
			missing = append(missing, n.Name)
		}
	}
	return missing
}

// whyNotReady is one line on a node that is not Ready: its Ready
// condition as the API server has it, and the kubelet's last errors
// (klog's E and F lines) from its journal.
func (p *ClusterPhase) whyNotReady(ctx context.Context, c *lab.Cluster, x1 remote.Executor, node string) string {
	cond, _ := x1.Run(ctx, remote.Command{Line: "KUBECONFIG=/etc/kubernetes/admin.conf kubectl get node " + node +
		` -o jsonpath='{.status.conditions[?(@.type=="Ready")].message}' 2>/dev/null || true`})
	line := node
	if m := strings.TrimSpace(string(cond.Stdout)); m != "" {
		line += ": " + m
	}
	j, _ := p.Exec(c.Index, node).Run(ctx, remote.Command{Line: "journalctl -u kubelet -n 300 --no-pager -o cat | grep -E '^[EF][0-9]{4} ' | tail -n 3 || true"})
	if errs := strings.TrimSpace(string(j.Stdout)); errs != "" {
		line += "; kubelet errors: " + strings.ReplaceAll(errs, "\n", " / ")
	}
	return line
}
