package program

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Resource types served by labctl's own resource provider
// (pulumi-resource-labctl, the labctl binary under that name).
const (
	LocalNetworkType = "labctl:local:Network"
	LocalNodeType    = "labctl:local:Node"
)

// localNetwork is the lab's podman network.
type localNetwork struct {
	pulumi.CustomResourceState
	Name pulumi.StringOutput `pulumi:"name"`
	CIDR pulumi.StringOutput `pulumi:"cidr"`
}

// localNode is one node container.
type localNode struct {
	pulumi.CustomResourceState
	Container pulumi.StringOutput `pulumi:"container"`
	Address   pulumi.StringOutput `pulumi:"address"`
	HostKey   pulumi.StringOutput `pulumi:"hostKey"`
}

// localNodes makes the lab's network and one container per node.
func localNodes(ctx *pulumi.Context, s Spec) ([][]node, error) {
	network := &localNetwork{}
	err := ctx.RegisterResource(LocalNetworkType, s.Lab, pulumi.Map{
		"lab":    pulumi.String(s.Lab),
		"subnet": pulumi.String(s.Local.Subnet),
	}, network)
	if err != nil {
		return nil, err
	}
	clusters := make([][]node, s.clusters())
	err = each(s, func(c int, name string) error {
		n := &localNode{}
		err := ctx.RegisterResource(LocalNodeType, nodeName(c, name), pulumi.Map{
			"lab":           pulumi.String(s.Lab),
			"cluster":       pulumi.Int(c),
			"node":          pulumi.String(name),
			"network":       network.Name,
			"subnet":        network.CIDR,
			"image":         pulumi.String(s.Local.Image),
			"authorizedKey": pulumi.String(s.AuthorizedKey),
			// A new node image or key is for new nodes: a running class is
			// not rebuilt because labctl's image recipe changed.
		}, n, pulumi.IgnoreChanges([]string{"image", "authorizedKey"}))
		if err != nil {
			return err
		}
		clusters[c-1] = append(clusters[c-1], node{
			name: name, public: n.Address, private: n.Address, hostKey: n.HostKey,
			id: n.Container, port: 22, user: s.User,
		})
		return nil
	})
	return clusters, err
}
