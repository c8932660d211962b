package pulumi

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/labctl/labctl/provision"
)

// Plan is `up --dry-run`: `pulumi preview` of the class program, counted
// by resource type, and what the machines are. No machine is made or
// changed; the stack itself is created in the backend if it is new.
func (p *Provider) Plan(ctx context.Context, r provision.Request, w io.Writer) error {
	l := r.Lab
	if l.Provider.Pulumi.Stack != "" {
		fmt.Fprintf(w, "    read the outputs of stack %s (changes nothing there)\n", l.Provider.Pulumi.Stack)
		return nil
	}
	req, err := p.request(ctx, r, OpPreview, true)
	if err != nil {
		return err
	}
	if _, err := p.run(ctx, r, req, w); err != nil {
		return err
	}
	if l.Provider.Pulumi.Target == "aws" {
		a := l.Provider.AWS
		fmt.Fprintf(w, "    %d %s instances (%d GiB gp3, Ubuntu 24.04) in %s, %s VPC, SSH from %s\n",
			l.Attendees*l.NodesPerCluster, a.InstanceType, a.DiskSize, a.Region, a.VPC, strings.Join(a.AllowFrom, ", "))
	}
	return nil
}
