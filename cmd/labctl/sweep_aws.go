package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/lab"
	lp "github.com/labctl/labctl/provision/pulumi"
)

// awsOrphanFlags are sweep's flags for AWS orphans.
type awsOrphanFlags struct {
	regions, of []string
}

func (f *awsOrphanFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&f.regions, "aws-region", nil, "also look for orphans in these AWS regions (default: the regions of the pulumi labs under --root)")
	cmd.Flags().StringSliceVar(&f.of, "orphans-of", nil, "labs no state here knows whose AWS resources are orphans even before their end")
}

// check refuses flags that name no region or lab, before anything runs.
func (f *awsOrphanFlags) check() error {
	for _, r := range f.regions {
		if !lab.IsAWSRegion(r) {
			return badInput("--aws-region: %q is not an AWS region (e.g. us-east-1, eu-west-3)", r)
		}
	}
	for _, n := range f.of {
		if err := lab.CheckName(n); err != nil {
			return badInput("--orphans-of: %v", err)
		}
	}
	return nil
}

// run is the AWS half of sweep (provision/pulumi.OrphanSweep), through
// labctl-pulumi.
func (f *awsOrphanFlags) run(ctx context.Context, a *app, root string, yes bool) error {
	o := &lp.OrphanSweep{Root: root, Regions: f.regions, OrphansOf: f.of, Yes: yes, Now: time.Now().UTC(), Out: a.out,
		Cloud: lp.HelperCloud{Provider: lp.New(), Out: a.out}}
	return o.Run(ctx)
}
