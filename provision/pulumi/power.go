package pulumi

import (
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labctl/labctl/internal/fan"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
)

// PowerPlan says how labctl stop and start go for the lab: on the aws
// target, every selected cluster in one `pulumi up` (fleet); on the local
// target, per cluster, by the local provider (the node containers are
// its). A lab whose machines labctl cannot stop and start again as they
// were is refused before anything changes.
func (p *Provider) PowerPlan(l *lab.Lab, s *lab.State) (fleet bool, err error) {
	if s := l.Provider.Pulumi.Stack; s != "" {
		return false, fmt.Errorf("provider.pulumi.stack: stack %s is yours: stop its instances with `pulumi config set labctl:stopped 1,2` and `pulumi up` (labctl changes nothing there)", s)
	}
	if l.Provider.Pulumi.Target != "aws" {
		return false, nil
	}
	if !l.Provider.AWS.ElasticIPs() {
		return false, fmt.Errorf("provider.aws.addresses: ephemeral: a stopped instance gets a new public address when it starts, and the cards and the API server's certificate name the old one; set addresses: elastic (then labctl up) to stop and start this lab")
	}
	// Stop and start change the instances' state and nothing else: a lab
	// file that asks for other machines is for labctl up first.
	if len(s.Clusters) != l.ClusterCount() || slices.ContainsFunc(s.Clusters, func(c lab.Cluster) bool { return len(c.Nodes) != l.NodesPerCluster }) {
		return false, fmt.Errorf("attendees, spares, nodesPerCluster: the lab file asks for %d × %d nodes, the lab has %d clusters (%d nodes): run labctl up first; stop and start change nothing but the instances' state",
			l.ClusterCount(), l.NodesPerCluster, len(s.Clusters), nodeCount(s))
	}
	return true, nil
}

func nodeCount(s *lab.State) int {
	n := 0
	for _, c := range s.Clusters {
		n += len(c.Nodes)
	}
	return n
}

// Stop stops the selected clusters' machines: on aws, their InstanceState
// resources go to "stopped" in one targeted `pulumi up`, so the stack
// and labctl's state agree (a later `labctl up` starts them again).
func (p *Provider) Stop(ctx context.Context, r provision.Request) error {
	if _, err := p.PowerPlan(r.Lab, r.State); err != nil {
		return err
	}
	if r.Lab.Provider.Pulumi.Target != "aws" {
		return p.Local.Stop(ctx, r)
	}
	return p.power(ctx, r, true)
}

// Start starts the selected clusters' machines and records their nodes
// from the stack's outputs (the same addresses: Elastic IPs).
func (p *Provider) Start(ctx context.Context, r provision.Request) error {
	if _, err := p.PowerPlan(r.Lab, r.State); err != nil {
		return err
	}
	if r.Lab.Provider.Pulumi.Target != "aws" {
		return p.Local.Start(ctx, r)
	}
	return p.power(ctx, r, false)
}

// power runs the targeted pulumi up of the selected clusters' instance
// states.
func (p *Provider) power(ctx context.Context, r provision.Request, stop bool) error {
	req, err := p.request(ctx, r, OpPower, false)
	if err != nil {
		return err
	}
	req.Clusters = selectedClusters(r)
	req.Stopped = stoppedAfter(r, stop)
	clusters, err := p.run(ctx, r, req, r.Out)
	if err != nil {
		return err
	}
	var nodes []lab.Node
	for _, c := range clusters {
		if !slices.Contains(req.Clusters, c.Index) {
			continue
		}
		for _, n := range c.Nodes {
			provision.SetNode(r.State, c.Index, n.Node, false)
			nodes = append(nodes, n.Node)
		}
	}
	if stop {
		return nil
	}
	// An instance AWS calls running has not booted yet: wait for its sshd,
	// as the local provider does, before up's phases log in.
	return p.waitSSH(ctx, nodes, r.Out)
}

// waitSSH waits until every node's SSH port accepts a connection, at most
// SSHWait (default 5 minutes), and names those that did not.
func (p *Provider) waitSSH(ctx context.Context, nodes []lab.Node, out io.Writer) error {
	wait := p.SSHWait
	if wait <= 0 {
		wait = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	start := time.Now()
	var (
		mu     sync.Mutex
		silent []string
	)
	fan.Do(len(nodes), 64, func(i int) {
		n := nodes[i]
		addr := net.JoinHostPort(n.PublicAddress, strconv.Itoa(n.Port))
		var d net.Dialer
		for {
			c, err := d.DialContext(ctx, "tcp", addr)
			if err == nil {
				c.Close()
				return
			}
			select {
			case <-ctx.Done():
				mu.Lock()
				silent = append(silent, addr)
				mu.Unlock()
				return
			case <-time.After(time.Second):
			}
		}
	})
	if len(silent) > 0 {
		slices.Sort(silent)
		return fmt.Errorf("no sshd answered on %s within %s of the start", strings.Join(silent, ", "), wait)
	}
	fmt.Fprintf(out, "    sshd answers on %d nodes (%s)\n", len(nodes), time.Since(start).Round(100*time.Millisecond))
	return nil
}

// selectedClusters are the request's clusters that the state has.
func selectedClusters(r provision.Request) []int {
	var out []int
	for _, c := range r.State.Clusters {
		if r.Selected(c.Index) {
			out = append(out, c.Index)
		}
	}
	return out
}

// stoppedAfter are the clusters stopped once this stop (or start) is done:
// those the state has stopped, with the selected ones added (removed).
func stoppedAfter(r provision.Request, stop bool) []int {
	var out []int
	for _, c := range r.State.Clusters {
		sel := r.Selected(c.Index)
		if (sel && stop) || (!sel && c.Stopped()) {
			out = append(out, c.Index)
		}
	}
	slices.Sort(out)
	return out
}
