package kubeadm

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// kube is cluster c's API client (through node1). Without p.Kube it
// connects with the kubeconfig the state keeps, or node1's admin.conf.
func (p *Phase) kube(ctx context.Context, c *lab.Cluster) (*kube.Client, error) {
	if p.Kube != nil {
		return p.Kube(ctx, c.Index)
	}
	return kube.Connect(ctx, p.Target(c.Index, "node1"), kube.RecordedOf(c), nil)
}

// nodes asks the API server for cluster c's nodes, by name.
func (p *Phase) nodes(ctx context.Context, c *lab.Cluster) (map[string]*corev1.Node, error) {
	cl, err := p.kube(ctx, c)
	if err != nil {
		return nil, err
	}
	return cl.Nodes(ctx)
}

// waitAPI polls node1's API server until it answers /readyz: after a
// reboot, node1's kubelet takes a while to bring the control plane back.
func (p *Phase) waitAPI(ctx context.Context, c *lab.Cluster, x1 phase.Target) error {
	deadline := time.Now().Add(p.ReadyTimeout)
	for {
		cl, err := p.kube(ctx, c)
		if err == nil {
			err = cl.Ready(ctx)
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return phase.Fail(x1.NodeRef, "wait for the API server", fmt.Errorf("not ready after %s: %w", p.ReadyTimeout, err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// waitReady polls the API server until every node is Ready; on timeout it
// names the nodes still not Ready and says why (whyNotReady).
func (p *Phase) waitReady(ctx context.Context, c *lab.Cluster, x1 phase.Target) error {
	deadline := time.Now().Add(p.ReadyTimeout)
	var notReady []string
	var nodes map[string]*corev1.Node
	for {
		var err error
		nodes, err = p.nodes(ctx, c)
		if err == nil {
			notReady = notReadyNodes(nodes, c)
			if len(notReady) == 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				return phase.Fail(x1.NodeRef, "wait for Ready", fmt.Errorf("not Ready after %s: %w", p.ReadyTimeout, err))
			}
			var why []string
			for _, n := range notReady {
				why = append(why, p.whyNotReady(ctx, c, n, nodes[n]))
			}
			return phase.Fail(x1.NodeRef, "wait for Ready", fmt.Errorf("not Ready after %s: %s", p.ReadyTimeout, strings.Join(why, " | ")))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
}

// waitRegistered polls the API server until every node of c is known to
// it, Ready or not: with a CNI add-on, nodes are NotReady until the addons
// phase.
func (p *Phase) waitRegistered(ctx context.Context, c *lab.Cluster, x1 phase.Target) error {
	deadline := time.Now().Add(p.ReadyTimeout)
	var missing []string
	for {
		nodes, err := p.nodes(ctx, c)
		if err == nil {
			if missing = unregisteredNodes(nodes, c); len(missing) == 0 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				return phase.Fail(x1.NodeRef, "wait for the nodes", fmt.Errorf("not registered after %s: %w", p.ReadyTimeout, err))
			}
			return phase.Fail(x1.NodeRef, "wait for the nodes", fmt.Errorf("not registered after %s: %s", p.ReadyTimeout, strings.Join(missing, ", ")))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
}

// unregisteredNodes lists the cluster's nodes the API server does not
// know (nodes is nil when there is no API server to ask).
func unregisteredNodes(nodes map[string]*corev1.Node, c *lab.Cluster) []string {
	var missing []string
	for _, n := range c.Nodes {
		if nodes[n.Name] == nil {
			missing = append(missing, n.Name)
		}
	}
	return missing
}

// notReadyNodes lists the cluster's nodes that the API server does not
// have Ready.
func notReadyNodes(nodes map[string]*corev1.Node, c *lab.Cluster) []string {
	var missing []string
	for _, n := range c.Nodes {
		if nd := nodes[n.Name]; nd == nil || !kube.NodeReady(nd) {
			missing = append(missing, n.Name)
		}
	}
	return missing
}

// whyNotReady is one line on a node that is not Ready: its Ready
// condition as the API server has it, and the kubelet's last errors
// (klog's E and F lines) from its journal, which only the node has.
func (p *Phase) whyNotReady(ctx context.Context, c *lab.Cluster, name string, node *corev1.Node) string {
	line := name
	if node == nil {
		line += ": not registered"
	} else if cond := kube.NodeReadyCondition(node); cond != nil && cond.Message != "" {
		line += ": " + cond.Message
	}
	j, _ := p.Target(c.Index, name).Run(ctx, remote.Command{Line: "journalctl -u kubelet -n 300 --no-pager -o cat | grep -E '^[EF][0-9]{4} ' | tail -n 3 || true"})
	if errs := strings.TrimSpace(string(j.Stdout)); errs != "" {
		line += "; kubelet errors: " + strings.ReplaceAll(errs, "\n", " / ")
	}
	return line
}
