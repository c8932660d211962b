package local

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labctl/labctl/internal/fan"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
)

// StopSignal is the signal systemd, the node containers' init, takes as
// "halt": it stops kubelet, containerd's and Docker's containers (etcd
// with them) and every other unit in order, then exits. podman's default,
// SIGTERM, only makes systemd re-execute itself, so podman killed the
// node after its 10 s timeout.
const StopSignal = "SIGRTMIN+3"

// StopTimeout is how long a node has to halt before it is killed: kubelet,
// the static pods' containers, containerd and Docker stop one after the
// other (about 10 s on an idle node).
const StopTimeout = 120 * time.Second

// Stop halts the selected clusters' node containers the way a VM shuts
// down, keeping them and their volumes. Nodes made before the containers
// carried StopSignal get it all the same: it is sent explicitly.
func (p *Provider) Stop(ctx context.Context, r provision.Request) error {
	names, running, err := p.selected(ctx, r)
	if err != nil {
		return err
	}
	if len(running) == 0 {
		return nil
	}
	for _, name := range running {
		// The loop device behind /portworx.blk is the host's: give it back.
		_, _ = p.Podman.Exec(ctx, name, nil, "sh", "-c", releaseLoop)
	}
	// A node a stop killed half-way may halt between the listing and the
	// signal: podman then refuses the signal, and the wait below decides.
	killErr := p.Podman.Kill(ctx, StopSignal, running...)
	fmt.Fprintf(r.Out, "halting %s\n", strings.Join(running, " "))
	deadline := time.Now().Add(StopTimeout)
	for {
		cs, err := p.Podman.Inspect(ctx, names...)
		if err != nil {
			return err
		}
		var left []string
		for _, c := range cs {
			if c.Running {
				left = append(left, c.Name)
			}
		}
		if len(left) == 0 {
			return p.Podman.Cleanup(ctx, names...)
		}
		if time.Now().After(deadline) {
			_ = p.Podman.Stop(ctx, 1, left...)
			return errors.Join(fmt.Errorf("%v did not halt within %s: killed", left, StopTimeout), killErr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Start starts the selected clusters' stopped node containers, waits for
// their sshd and records them again. A node that no longer exists is an
// error: `labctl up` makes it again.
func (p *Provider) Start(ctx context.Context, r provision.Request) error {
	pub, err := EnsureKey(p.Identity(r))
	if err != nil {
		return err
	}
	names, running, err := p.selected(ctx, r)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("no node containers: run `labctl up`")
	}
	cs, err := p.Podman.Inspect(ctx, names...)
	if err != nil {
		return err
	}
	if p.HostSetup != nil && len(running) < len(names) {
		// After a reboot of this machine the kernel limits are the defaults.
		all, err := p.Podman.Names(ctx, LabelLab, "")
		if err != nil {
			return err
		}
		if err := p.HostSetup(len(all), r.Out); err != nil {
			return err
		}
	}
	byName := map[string]Container{}
	for _, c := range cs {
		byName[c.Name] = c
	}
	network := NetworkName(r.Lab.Name)
	for _, c := range r.State.Clusters {
		if !r.Selected(c.Index) {
			continue
		}
		for _, n := range c.Nodes {
			name := ContainerName(r.Lab.Name, c.Index, n.Name)
			if _, ok := byName[name]; !ok {
				return fmt.Errorf("%s: its container %s is gone: `labctl up` makes it again", lab.Label(c.Index, n.Name), name)
			}
		}
	}
	// Every node boots at once; each is read back as Provision does.
	var (
		mu   sync.Mutex
		errs []error
	)
	fan.Do(len(cs), 8, func(i int) {
		c := cs[i]
		cluster, _ := strconv.Atoi(c.Labels[LabelCluster])
		node := c.Labels[LabelNode]
		mu.Lock()
		var pinned string
		if prev := r.State.Cluster(cluster); prev != nil && prev.Node(node) != nil {
			pinned = prev.Node(node).HostKey
		}
		mu.Unlock()
		got, _, err := p.ensureNode(ctx, map[string]Container{c.Name: c}, c.Name, network, "", "", pub, cluster, node, pinned, false)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", lab.Label(cluster, node), err))
			return
		}
		provision.SetNode(r.State, cluster, got, false)
	})
	return errors.Join(errs...)
}

// selected lists the node containers of the request's clusters, and which
// of them run.
func (p *Provider) selected(ctx context.Context, r provision.Request) (names, running []string, err error) {
	cs, err := p.Podman.Containers(ctx, LabelLab, r.Lab.Name)
	if err != nil {
		if aerr := p.Podman.Available(ctx); aerr != nil {
			return nil, nil, aerr
		}
		return nil, nil, err
	}
	for _, c := range cs {
		n, _ := strconv.Atoi(c.Labels[LabelCluster])
		if !r.Selected(n) || r.State.Cluster(n) == nil {
			continue
		}
		names = append(names, c.Name)
		if c.Running {
			running = append(running, c.Name)
		}
	}
	return names, running, nil
}
