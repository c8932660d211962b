package kind

import (
	"context"
	"errors"
	"fmt"

	"github.com/labctl/labctl/provision"
)

// Stop stops the selected clusters' node containers. kind's node image
// declares SIGRTMIN+3 as its stop signal, the one its systemd halts on;
// the timeout leaves kubelet, containerd and etcd time to stop.
func (p *Provider) Stop(ctx context.Context, r provision.Request) error {
	rt, err := p.runtime(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range r.State.Clusters {
		if !r.Selected(c.Index) {
			continue
		}
		name := NodeContainer(ClusterName(r.Lab.Name, c.Index))
		if _, err := rt.Output(ctx, "stop", "-t", "120", name); err != nil {
			errs = append(errs, fmt.Errorf("cluster %02d: %w", c.Index, err))
		}
	}
	return errors.Join(errs...)
}

// Start starts the selected clusters' node containers (kind's node boots
// by itself) and records their node again.
func (p *Provider) Start(ctx context.Context, r provision.Request) error {
	if err := p.Check(ctx, r); err != nil {
		return err
	}
	rt, _ := p.runtime(ctx)
	kp := p.kindProvider(rt, r.Lab.Name)
	var errs []error
	for _, c := range r.State.Clusters {
		if !r.Selected(c.Index) {
			continue
		}
		node, _, err := p.ensureCluster(ctx, rt, kp, r, c.Index, ClusterName(r.Lab.Name, c.Index), "", false)
		if err != nil {
			errs = append(errs, fmt.Errorf("cluster %02d: %w", c.Index, err))
			continue
		}
		provision.SetNode(r.State, c.Index, node, false)
	}
	return errors.Join(errs...)
}
