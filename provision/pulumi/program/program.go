package program

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/labctl/labctl/lab"
)

// node is what a target made for one node, as outputs.
type node struct {
	name                         string
	public, private, hostKey, id pulumi.StringOutput
	port                         int
	user                         string
}

// Program is the class: (attendees + spares) × nodesPerCluster machines
// on the spec's target, and the contract's outputs.
func Program(s Spec) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		clusters, err := build(ctx, s)
		if err != nil {
			return err
		}
		ctx.Export("contract", pulumi.Int(ContractVersion))
		ctx.Export("clusters", clusters)
		return nil
	}
}

// build makes the resources and returns the "clusters" output.
func build(ctx *pulumi.Context, s Spec) (pulumi.Array, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	var clusters [][]node
	var err error
	switch s.Target {
	case "aws":
		clusters, err = awsNodes(ctx, s)
	case "local":
		clusters, err = localNodes(ctx, s)
	}
	if err != nil {
		return nil, err
	}
	return contractOutput(clusters), nil
}

// contractOutput is the "clusters" output of ContractVersion.
func contractOutput(clusters [][]node) pulumi.Array {
	out := pulumi.Array{}
	for i, nodes := range clusters {
		ns := pulumi.Array{}
		for _, n := range nodes {
			ns = append(ns, pulumi.Map{
				"name":           pulumi.String(n.name),
				"publicAddress":  n.public,
				"privateAddress": n.private,
				"port":           pulumi.Int(n.port),
				"user":           pulumi.String(n.user),
				"hostKey":        n.hostKey,
				"id":             n.id,
			})
		}
		out = append(out, pulumi.Map{"index": pulumi.Int(i + 1), "nodes": ns})
	}
	return out
}

// each calls f for every node of every cluster, in order.
func each(s Spec, f func(c int, name string) error) error {
	for c := 1; c <= s.clusters(); c++ {
		for n := 1; n <= s.NodesPerCluster; n++ {
			if err := f(c, lab.NodeName(n)); err != nil {
				return err
			}
		}
	}
	return nil
}
