package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/labctl/labctl/lab"
)

// One node or network at a time, for callers that manage each as its own
// resource (the pulumi provider's local target) instead of a whole lab.

// NodeRequest is one node container to make.
type NodeRequest struct {
	Lab     string
	Cluster int
	Node    string
	// Network is the lab's network, Subnet its CIDR (the node's address
	// is derived from it, see NodeAddress).
	Network, Subnet string
	Image           string
	AuthorizedKey   string
}

// EnsureNode makes one node container exist and run, adopting one left by
// an interrupted run, and reads back its address and host key.
func (p *Provider) EnsureNode(ctx context.Context, r NodeRequest) (lab.Node, error) {
	name := ContainerName(r.Lab, r.Cluster, r.Node)
	byName := map[string]Container{}
	c, ok, err := p.container(ctx, r.Lab, name)
	if err != nil {
		return lab.Node{}, err
	}
	if ok {
		byName[name] = c
	}
	node, _, err := p.ensureNode(ctx, byName, name, r.Network, r.Subnet, r.Image, r.AuthorizedKey, r.Cluster, r.Node, "", false)
	if err != nil {
		return lab.Node{}, fmt.Errorf("%s: %w", lab.Label(r.Cluster, r.Node), err)
	}
	return node, nil
}

// NodeStatus says whether a node container exists and runs.
func (p *Provider) NodeStatus(ctx context.Context, labName string, cluster int, node string) (exists, running bool, err error) {
	c, ok, err := p.container(ctx, labName, ContainerName(labName, cluster, node))
	return ok, ok && c.Running, err
}

// container inspects one of the lab's containers; ok is false when it
// does not exist.
func (p *Provider) container(ctx context.Context, labName, name string) (Container, bool, error) {
	names, err := p.Podman.Names(ctx, LabelLab, labName)
	if err != nil {
		return Container{}, false, err
	}
	if !slices.Contains(names, name) {
		return Container{}, false, nil
	}
	cs, err := p.Podman.Inspect(ctx, name)
	if err != nil {
		return Container{}, false, err
	}
	return cs[0], true, nil
}

// RemoveNode removes one node container and its volumes, giving back its
// loop device first.
func (p *Provider) RemoveNode(ctx context.Context, labName string, cluster int, node string) error {
	name := ContainerName(labName, cluster, node)
	c, ok, err := p.container(ctx, labName, name)
	if err != nil {
		return err
	}
	var names []string
	if ok {
		names = append(names, name)
		if c.Running {
			_, _ = p.Podman.Exec(ctx, name, nil, "sh", "-c", releaseLoop)
		}
	}
	return p.Podman.Remove(ctx, names, []string{name + "-containerd", name + "-docker"}, "")
}

// EnsureNetwork makes the lab's network exist and returns its name and
// CIDR.
func (p *Provider) EnsureNetwork(ctx context.Context, labName, subnet string) (string, string, error) {
	network := NetworkName(labName)
	if err := p.Podman.EnsureNetwork(ctx, network, subnet, map[string]string{LabelLab: labName}); err != nil {
		return "", "", err
	}
	cidr, err := p.Podman.NetworkSubnet(ctx, network)
	return network, cidr, err
}

// RemoveNetwork removes the lab's network (its nodes must be gone).
func (p *Provider) RemoveNetwork(ctx context.Context, labName string) error {
	return p.Podman.Remove(ctx, nil, nil, NetworkName(labName))
}

// cniNetworks is where CNI's host-local IPAM records which container holds
// which address, one file per address.
var cniNetworks = "/var/lib/cni/networks"

// ReleaseAddress drops a stale host-local reservation of a node's fixed
// address: a podman killed while starting a container can leave one that
// outlives the container, and the node made again at the same address
// would then be refused it. Call it only once the node's container is gone.
func (p *Provider) ReleaseAddress(labName, subnet string, cluster int, node string) error {
	addr, err := NodeAddress(subnet, cluster, node)
	if err != nil {
		return err
	}
	err = os.Remove(filepath.Join(cniNetworks, NetworkName(labName), addr))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
