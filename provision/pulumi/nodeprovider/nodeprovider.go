// Package nodeprovider is labctl's own Pulumi resource provider: the
// labctl:local:Network and labctl:local:Node resources of the class
// program's local target, backed by the local provider (podman). The
// labctl binary serves it when started as pulumi-resource-labctl, so the
// real Pulumi engine (state, diff, refresh, destroy) drives local nodes.
package nodeprovider

import (
	"context"
	"fmt"
	"os"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/labctl/labctl/provision/local"
)

// Name is the provider's package name, Version its schema version.
const (
	Name    = "labctl"
	Version = "1.0.0"
	// Binary is the name the engine starts the provider under.
	Binary = "pulumi-resource-" + Name
)

// Provider builds the Pulumi provider over a local provider.
func Provider(lp *local.Provider) (p.Provider, error) {
	return infer.NewProviderBuilder().
		WithDisplayName("labctl").
		WithDescription("labctl's local nodes: podman containers that boot systemd and sshd").
		WithResources(
			infer.Resource(&Network{local: lp}),
			infer.Resource(&Node{local: lp}),
		).
		Build()
}

// Serve runs the provider until the engine hangs up, or dies: an engine
// killed with SIGKILL cannot stop its plugins, and an orphan provider
// would hold whatever its parents held open.
func Serve(ctx context.Context) error {
	prov, err := Provider(local.New())
	if err != nil {
		return fmt.Errorf("%s: %w", Binary, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go exitWithParent(ctx, cancel)
	return prov.Run(ctx, Name, Version)
}

// exitWithParent ends the provider once its parent is gone (it has been
// reparented).
func exitWithParent(ctx context.Context, cancel func()) {
	parent := os.Getppid()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if os.Getppid() != parent {
				cancel()
				time.Sleep(5 * time.Second) // let Run return on its own
				os.Exit(1)
			}
		}
	}
}

// Network is a lab's podman network.
type Network struct{ local *local.Provider }

// NetworkArgs are a Network's inputs.
type NetworkArgs struct {
	Lab    string `pulumi:"lab"`
	Subnet string `pulumi:"subnet,optional"`
}

// NetworkState is a Network's outputs.
type NetworkState struct {
	NetworkArgs
	Name string `pulumi:"name"`
	CIDR string `pulumi:"cidr"`
}

func (n *Network) Annotate(a infer.Annotator) { a.SetToken("local", "Network") }

func (n *Network) Create(ctx context.Context, req infer.CreateRequest[NetworkArgs]) (infer.CreateResponse[NetworkState], error) {
	st := NetworkState{NetworkArgs: req.Inputs, Name: local.NetworkName(req.Inputs.Lab)}
	if req.DryRun {
		return infer.CreateResponse[NetworkState]{ID: st.Name, Output: st}, nil
	}
	name, cidr, err := n.local.EnsureNetwork(ctx, req.Inputs.Lab, req.Inputs.Subnet)
	if err != nil {
		return infer.CreateResponse[NetworkState]{}, fmt.Errorf("network %s: %w", st.Name, err)
	}
	st.Name, st.CIDR = name, cidr
	return infer.CreateResponse[NetworkState]{ID: name, Output: st}, nil
}

func (n *Network) Delete(ctx context.Context, req infer.DeleteRequest[NetworkState]) (infer.DeleteResponse, error) {
	if err := n.local.RemoveNetwork(ctx, req.State.Lab); err != nil {
		return infer.DeleteResponse{}, fmt.Errorf("network %s: %w", req.State.Name, err)
	}
	return infer.DeleteResponse{}, nil
}

// Node is one node container.
type Node struct{ local *local.Provider }

// NodeArgs are a Node's inputs.
type NodeArgs struct {
	Lab           string `pulumi:"lab"`
	Cluster       int    `pulumi:"cluster"`
	Node          string `pulumi:"node"`
	Network       string `pulumi:"network"`
	Subnet        string `pulumi:"subnet"`
	Image         string `pulumi:"image"`
	AuthorizedKey string `pulumi:"authorizedKey"`
}

// NodeState is a Node's outputs: the contract's fields.
type NodeState struct {
	NodeArgs
	Container string `pulumi:"container"`
	Address   string `pulumi:"address"`
	HostKey   string `pulumi:"hostKey"`
}

func (n *Node) Annotate(a infer.Annotator) { a.SetToken("local", "Node") }

func (n *Node) Create(ctx context.Context, req infer.CreateRequest[NodeArgs]) (infer.CreateResponse[NodeState], error) {
	in := req.Inputs
	st := NodeState{NodeArgs: in, Container: local.ContainerName(in.Lab, in.Cluster, in.Node)}
	if req.DryRun {
		return infer.CreateResponse[NodeState]{ID: st.Container, Output: st}, nil
	}
	node, err := n.local.EnsureNode(ctx, local.NodeRequest{
		Lab: in.Lab, Cluster: in.Cluster, Node: in.Node, Network: in.Network, Subnet: in.Subnet,
		Image: in.Image, AuthorizedKey: in.AuthorizedKey,
	})
	if err != nil {
		return infer.CreateResponse[NodeState]{}, err
	}
	st.Address, st.HostKey = node.PublicAddress, node.HostKey
	return infer.CreateResponse[NodeState]{ID: st.Container, Output: st}, nil
}

// Read is refresh: a node container removed behind Pulumi's back is gone
// from the state too, so the next up makes it again.
func (n *Node) Read(ctx context.Context, req infer.ReadRequest[NodeArgs, NodeState]) (infer.ReadResponse[NodeArgs, NodeState], error) {
	exists, _, err := n.local.NodeStatus(ctx, req.State.Lab, req.State.Cluster, req.State.Node)
	if err != nil {
		return infer.ReadResponse[NodeArgs, NodeState]{}, err
	}
	if !exists {
		return infer.ReadResponse[NodeArgs, NodeState]{}, nil
	}
	return infer.ReadResponse[NodeArgs, NodeState]{ID: req.ID, Inputs: req.Inputs, State: req.State}, nil
}

func (n *Node) Delete(ctx context.Context, req infer.DeleteRequest[NodeState]) (infer.DeleteResponse, error) {
	s := req.State
	if err := n.local.RemoveNode(ctx, s.Lab, s.Cluster, s.Node); err != nil {
		return infer.DeleteResponse{}, fmt.Errorf("%s: %w", s.Container, err)
	}
	return infer.DeleteResponse{}, nil
}
