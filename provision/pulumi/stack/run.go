package stack

import (
	"context"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/labctl/labctl/lab"
	lp "github.com/labctl/labctl/provision/pulumi"
	"github.com/labctl/labctl/provision/pulumi/awscloud"
	"github.com/labctl/labctl/provision/pulumi/program"
)

// Run does the request's op. The nodes a stack's outputs give are the
// returned result (nil for preview and destroy).
func (rn *Runner) Run(ctx context.Context) (*lp.Result, error) {
	if rn.Req.Lab == nil {
		return nil, fmt.Errorf("request: no lab")
	}
	switch rn.Req.Op {
	case lp.OpUp:
		return rn.up(ctx)
	case lp.OpPreview:
		return nil, rn.preview(ctx)
	case lp.OpDestroy:
		return nil, rn.destroy(ctx)
	case lp.OpOutputs:
		return rn.outputs(ctx)
	case lp.OpPower:
		return rn.power(ctx)
	case lp.OpInventory:
		rs, err := rn.cloud().Inventory(ctx, rn.Req.Regions)
		if err != nil {
			return nil, err
		}
		return &lp.Result{Clusters: []lp.Cluster{}, Resources: rs}, nil
	case lp.OpDelete:
		return nil, rn.cloud().Delete(ctx, rn.Req.Resources)
	}
	return nil, fmt.Errorf("request: op %q is not up, preview, destroy, outputs, power, inventory or delete", rn.Req.Op)
}

func (rn *Runner) cloud() lp.Cloud {
	if rn.Cloud != nil {
		return rn.Cloud
	}
	return awscloud.New(rn.Out)
}

// up runs `pulumi up` on the lab's stack after undoing what an
// interrupted run left.
func (rn *Runner) up(ctx context.Context) (*lp.Result, error) {
	l := rn.Req.Lab
	st, err := rn.open(ctx, true)
	if err != nil {
		return nil, err
	}
	if err := rn.recoverStack(ctx, st); err != nil {
		return nil, err
	}
	if l.Provider.Pulumi.Target == "local" {
		// After recovery: a stopped node is then one the stack knows.
		if err := rn.startStopped(ctx); err != nil {
			return nil, err
		}
	}
	ch, done := progress(rn.Out)
	res, err := st.stack.Up(ctx, optupStreams(ch)...)
	<-done
	if err != nil {
		return nil, fmt.Errorf("pulumi up (stack %s): %w", l.Name, shortErr(err))
	}
	fmt.Fprintf(rn.Out, "    pulumi: %s\n", summary(res.Summary.ResourceChanges))
	return result(res.Outputs)
}

// destroy runs `pulumi destroy` and removes the stack (a stack never
// brought up is nothing to do).
func (rn *Runner) destroy(ctx context.Context) error {
	l := rn.Req.Lab
	st, err := rn.open(ctx, false)
	if err != nil || st == nil {
		return err
	}
	if err := rn.recoverStack(ctx, st); err != nil {
		return err
	}
	ch, done := progress(rn.Out)
	res, err := st.stack.Destroy(ctx, optdestroyStreams(ch)...)
	<-done
	if err != nil {
		return fmt.Errorf("pulumi destroy (stack %s): %w", l.Name, shortErr(err))
	}
	fmt.Fprintf(rn.Out, "    pulumi: %s\n", summary(res.Summary.ResourceChanges))
	if err := st.stack.Workspace().RemoveStack(ctx, l.Name); err != nil {
		return fmt.Errorf("pulumi stack rm %s: %w", l.Name, shortErr(err))
	}
	return nil
}

// result reads the output contract into the protocol's clusters.
func result(m auto.OutputMap) (*lp.Result, error) {
	plain := map[string]any{}
	for k, v := range m {
		plain[k] = v.Value // the secret flags dropped
	}
	out, err := program.ParseOutputs(plain)
	if err != nil {
		return nil, err
	}
	r := &lp.Result{Clusters: []lp.Cluster{}}
	for _, c := range out.Clusters {
		rc := lp.Cluster{Index: c.Index, Nodes: []lp.Node{}}
		for _, n := range c.Nodes {
			rc.Nodes = append(rc.Nodes, lp.Node{User: n.User, Node: labNode(n)})
		}
		r.Clusters = append(r.Clusters, rc)
	}
	return r, nil
}

func labNode(n program.Node) lab.Node {
	return lab.Node{Name: n.Name, PublicAddress: n.PublicAddress, PrivateAddress: n.PrivateAddress,
		Port: n.Port, HostKey: n.HostKey, ID: n.ID}
}
