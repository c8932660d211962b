package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/labctl/labctl/lab"
	lp "github.com/labctl/labctl/provision/pulumi"
	"github.com/labctl/labctl/provision/pulumi/program"
)

// power is labctl stop and start on the aws target: `pulumi up --refresh
// --target` the selected clusters' InstanceState resources, the program
// run with Req.Stopped. Nothing else changes, even when the lab file
// changed since the last up (that is for labctl up).
func (rn *Runner) power(ctx context.Context) (*lp.Result, error) {
	l := rn.Req.Lab
	if l.Provider.Pulumi.Target != "aws" {
		return nil, fmt.Errorf("request: power is for the aws target, not %s", l.Provider.Pulumi.Target)
	}
	st, err := rn.open(ctx, true)
	if err != nil {
		return nil, err
	}
	if err := rn.recoverStack(ctx, st); err != nil {
		return nil, err
	}
	if err := rn.checkAddresses(ctx, st); err != nil {
		return nil, err
	}
	targets := powerTargets(l.Name, rn.Req.Clusters, l.NodesPerCluster)
	ch, done := progress(rn.Out)
	opts := append(optupStreams(ch), optup.Target(targets))
	res, err := st.stack.Up(ctx, opts...)
	<-done
	if err != nil {
		return nil, fmt.Errorf("pulumi up --target the instance states (stack %s): %w", l.Name, shortErr(err))
	}
	fmt.Fprintf(rn.Out, "    pulumi: %s\n", summary(res.Summary.ResourceChanges))
	return result(res.Outputs)
}

// powerTargets are the URNs of the clusters' InstanceState resources.
func powerTargets(stack string, clusters []int, nodes int) []string {
	var out []string
	for _, c := range clusters {
		for n := 1; n <= nodes; n++ {
			out = append(out, urn(stack, program.InstanceStateType, program.ResourceName(c, lab.NodeName(n))))
		}
	}
	return out
}

// urn is the URN of a top-level resource of the lab's stack.
func urn(stack, typ, name string) string {
	return "urn:pulumi:" + stack + "::" + Project + "::" + typ + "::" + name
}

// checkAddresses refuses to stop nodes that have no Elastic IP in the
// stack (made before labctl gave them one): they would come back at
// another address.
func (rn *Runner) checkAddresses(ctx context.Context, st *labStack) error {
	dep, err := st.stack.Export(ctx)
	if err != nil {
		return fmt.Errorf("pulumi stack export %s: %w", rn.Req.Lab.Name, shortErr(err))
	}
	var d apitype.DeploymentV3
	if len(dep.Deployment) > 0 {
		if err := json.Unmarshal(dep.Deployment, &d); err != nil {
			return fmt.Errorf("pulumi stack export %s: %w", rn.Req.Lab.Name, err)
		}
	}
	have := map[string]bool{}
	for _, r := range d.Resources {
		have[string(r.URN)] = true
	}
	var missing []string
	for _, c := range rn.Req.Clusters {
		for n := 1; n <= rn.Req.Lab.NodesPerCluster; n++ {
			name := program.ResourceName(c, lab.NodeName(n))
			if !have[urn(rn.Req.Lab.Name, "aws:ec2/eip:Eip", name)] {
				missing = append(missing, name)
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s have no Elastic IP in stack %s (made before labctl gave nodes one): run `labctl up` first (their public addresses change once), then stop", shorten(missing), rn.Req.Lab.Name)
	}
	return nil
}

func shorten(xs []string) string {
	xs = slices.Clone(xs)
	if len(xs) > 4 {
		xs = append(xs[:4], fmt.Sprintf("and %d more", len(xs)-4))
	}
	return fmt.Sprint(xs)
}
