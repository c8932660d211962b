package nodeprep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// probe asks node1 (kubeadm init, kubeconfig, the API server's nodes) and
// the workers (kubelet configured and running) at once: a re-run is mostly
// probes.
func (p *ClusterPhase) probe(ctx context.Context, c *lab.Cluster) (facts string, unjoined []remote.Executor, err error) {
	var unjoinedErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		unjoined, unjoinedErr = p.unjoined(ctx, c)
	}()
	facts, err = p.step(ctx, p.Exec(c.Index, "node1"), "probe", remote.Command{Line: node1Probe(c)})
	<-done
	if err != nil {
		return "", nil, err
	}
	if unjoinedErr != nil {
		return "", nil, unjoinedErr
	}
	return facts, unjoined, nil
}

// clusterPlan says what Run would do to a cluster, given its probe; none
// when every node is joined and Ready.
func clusterPlan(c *lab.Cluster, facts string, unjoined []remote.Executor) []string {
	notReady := notReadyNodes(nodeLines(facts), c)
	if len(unjoined) == 0 && strings.Contains(facts, "initialized") && strings.Contains(facts, "kubeconfig") && len(notReady) == 0 {
		return nil
	}
	var todo []string
	if !strings.Contains(facts, "initialized") {
		todo = append(todo, "kubeadm init on node1")
	}
	if !strings.Contains(facts, "kubeconfig") {
		todo = append(todo, "the attendee's kubeconfig")
	}
	if len(unjoined) > 0 {
		var names []string
		for _, x := range unjoined {
			_, n := splitName(x.Name())
			names = append(names, n)
		}
		todo = append(todo, "kubeadm join "+strings.Join(names, ", "))
	}
	wait := "wait until every node is Ready"
	if len(notReady) > 0 {
		wait = "wait until " + strings.Join(notReady, ", ") + " Ready"
	}
	return append(todo, "the pod network", wait)
}

// DryRun probes every cluster (read-only) and prints what Run would do.
func (p *ClusterPhase) DryRun(ctx context.Context, w io.Writer) error {
	var errs []error
	for i := range p.State.Clusters {
		c := &p.State.Clusters[i]
		if p.Skip != nil && p.Skip(c.Index) {
			continue
		}
		facts, unjoined, err := p.probe(ctx, c)
		switch todo := clusterPlan(c, facts, unjoined); {
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
