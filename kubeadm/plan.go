package kubeadm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/labctl/labctl/kubeadm/config"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// workerProbe tells whether a worker has a kubelet.conf, whether its
// kubelet runs, whether it asks for CA-signed serving certificates, and the hash of the cluster CA it trusts.
const workerProbe = "test -f /etc/kubernetes/kubelet.conf && echo kubelet-conf; systemctl is-active --quiet kubelet && echo kubelet-active; " + config.ServingCertsProbe + "; " + caCommand + "; true"

// caCommand prints "ca: " and the SHA-256 of the node's cluster CA, if any.
const caCommand = "sha256sum /etc/kubernetes/pki/ca.crt 2>/dev/null | sed 's/ .*//; s/^/ca: /'"

// workers is what a cluster's workers need.
type workers struct {
	// join: no kubelet.conf, or one from another CA (node1 was set up
	// again since): (reset and) join.
	join []phase.Target
	// start: node1 or workers joined to this cluster whose kubelet is not
	// running (just rebooted, or stopped by hand): start it, never join
	// again.
	start []phase.Target
	// serving: node1 or joined workers whose kubelet's serverTLSBootstrap
	// is not what the lab wants (node1 first when it is one of them).
	serving []phase.Target
}

// probe asks node1 (kubeadm init, kubeconfig, its CA) and the workers at
// once, then, when kubeadm init ran, the API server for the nodes (nil
// when it does not answer: the plan then waits for them). A re-run is
// mostly probes.
func (p *Phase) probe(ctx context.Context, c *lab.Cluster) (facts string, w workers, nodes map[string]*corev1.Node, err error) {
	type answer struct {
		x   phase.Target
		out string
	}
	var xs []phase.Target
	for _, n := range c.Nodes {
		if n.Name != "node1" {
			xs = append(xs, p.Target(c.Index, n.Name))
		}
	}
	answers := make([]answer, len(xs))
	var werr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		idx := map[phase.NodeRef]int{}
		for i, x := range xs {
			idx[x.NodeRef] = i
		}
		werr = phase.Each(ctx, xs, len(xs), func(ctx context.Context, x phase.Target) error {
			out, err := p.step(ctx, x, "probe", remote.Command{Line: workerProbe})
			answers[idx[x.NodeRef]] = answer{x, out}
			return err
		})
	}()
	facts, err = p.step(ctx, p.Target(c.Index, "node1"), "probe", remote.Command{Line: node1Probe(c)})
	<-done
	if err != nil {
		return "", workers{}, nil, err
	}
	if werr != nil {
		return "", workers{}, nil, werr
	}
	if strings.Contains(facts, "initialized") {
		// An API server that is not back yet (node1 just rebooted) is
		// waited for by Run; here it only means "not known Ready".
		nodes, _ = p.nodes(ctx, c)
	}
	if strings.Contains(facts, "initialized") && !strings.Contains(facts, "kubelet-active") {
		// Stopped by hand on node1: the API server's static pod is down.
		w.start = append(w.start, p.Target(c.Index, "node1"))
	}
	ca := factValue(facts, "ca: ")
	if strings.Contains(facts, "initialized") && hasLine(facts, config.ServingCertsFact) != p.ServingCerts {
		w.serving = append(w.serving, p.Target(c.Index, "node1"))
	}
	for _, a := range answers {
		switch {
		case !strings.Contains(a.out, "kubelet-conf") || ca == "" || factValue(a.out, "ca: ") != ca:
			w.join = append(w.join, a.x)
			continue
		case !strings.Contains(a.out, "kubelet-active"):
			w.start = append(w.start, a.x)
		}
		if hasLine(a.out, config.ServingCertsFact) != p.ServingCerts {
			w.serving = append(w.serving, a.x)
		}
	}
	return facts, w, nodes, nil
}

// factValue is the rest of the first line of facts starting with prefix.
func factValue(facts, prefix string) string {
	for _, l := range strings.Split(facts, "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// startKubelets starts the kubelet of workers already joined.
func (p *Phase) startKubelets(ctx context.Context, xs []phase.Target) error {
	return phase.Each(ctx, xs, len(xs), func(ctx context.Context, x phase.Target) error {
		if _, err := p.step(ctx, x, "start kubelet", remote.Command{Line: "systemctl enable --now kubelet"}); err != nil {
			return err
		}
		p.logf("    %s: kubelet started (it was not running)\n", x.Name())
		return nil
	})
}

// clusterPlan says what Run would do to a cluster, given its probe; none
// when every node is joined and Ready. When the CNI is an add-on
// (cniAddon), nodes are not Ready before the addons phase: being
// registered is enough here.
func clusterPlan(c *lab.Cluster, facts string, w workers, nodes map[string]*corev1.Node, cniAddon bool) []string {
	notReady := notReadyNodes(nodes, c)
	if cniAddon {
		notReady = unregisteredNodes(nodes, c)
	}
	if len(w.join) == 0 && len(w.start) == 0 && len(w.serving) == 0 && strings.Contains(facts, "initialized") && strings.Contains(facts, "kubeconfig") && len(notReady) == 0 {
		return nil
	}
	var todo []string
	if !strings.Contains(facts, "initialized") {
		todo = append(todo, "kubeadm init on node1")
	}
	if !strings.Contains(facts, "kubeconfig") {
		todo = append(todo, "the attendee's kubeconfig")
	}
	if len(w.start) > 0 {
		todo = append(todo, "start the kubelet on "+names(w.start))
	}
	if len(w.serving) > 0 {
		todo = append(todo, "kubelet serving certificates from the cluster CA (serverTLSBootstrap) on "+names(w.serving))
	}
	if len(w.join) > 0 {
		todo = append(todo, "kubeadm join "+names(w.join))
	}
	wait := "wait until every node is Ready"
	if len(notReady) > 0 {
		wait = "wait until " + strings.Join(notReady, ", ") + " Ready"
	}
	if cniAddon {
		return append(todo, "wait until every node is registered (the pod network is an add-on)")
	}
	return append(todo, "the pod network", wait)
}

func names(xs []phase.Target) string {
	return strings.Join(phase.Nodes(xs), ", ")
}

// DryRun probes every cluster (read-only) and prints what Run would do.
func (p *Phase) DryRun(ctx context.Context, w io.Writer) error {
	var errs []error
	for i := range p.State.Clusters {
		c := &p.State.Clusters[i]
		if p.Skipped(c.Index) {
			continue
		}
		facts, ws, nodes, err := p.probe(ctx, c)
		switch todo := clusterPlan(c, facts, ws, nodes, p.cniAddon()); {
		case err != nil:
			errs = append(errs, err)
			fmt.Fprintf(w, "    cluster %02d: cannot probe: %v\n", c.Index, err)
		case len(todo) == 0:
			fmt.Fprintf(w, "    cluster %02d: every node joined and Ready, nothing to do\n", c.Index)
		default:
			fmt.Fprintf(w, "    cluster %02d: would do %s\n", c.Index, strings.Join(todo, "; "))
		}
	}
	return errors.Join(errs...)
}
