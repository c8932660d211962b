package pulumi

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"

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
	st, err := p.stackFor(ctx, r, true, true)
	if err != nil {
		return err
	}
	ch := make(chan events.EngineEvent)
	counts := map[string]int{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range ch {
			if e.ResourcePreEvent != nil {
				m := e.ResourcePreEvent.Metadata
				if !quiet(string(m.Op)) && !strings.HasPrefix(m.Type, "pulumi:") {
					counts[opSymbol(string(m.Op))+" "+m.Type]++
				}
			}
		}
	}()
	_, err = st.stack.Preview(ctx, optpreview.EventStreams(ch), optpreview.Refresh())
	<-done
	if err != nil {
		return fmt.Errorf("pulumi preview (stack %s): %w", l.Name, shortErr(err))
	}
	if len(counts) == 0 {
		fmt.Fprintln(w, "    pulumi preview: no changes")
	}
	var lines []string
	for k, n := range counts {
		lines = append(lines, fmt.Sprintf("    pulumi preview: %s × %d", k, n))
	}
	sort.Strings(lines)
	fmt.Fprintln(w, strings.Join(lines, "\n"))
	if l.Provider.Pulumi.Target == "aws" {
		a := l.Provider.AWS
		fmt.Fprintf(w, "    %d %s instances (%d GiB gp3, Ubuntu 24.04) in %s, %s VPC, SSH from %s\n",
			l.Attendees*l.NodesPerCluster, a.InstanceType, a.DiskSize, a.Region, a.VPC, strings.Join(a.AllowFrom, ", "))
	}
	return nil
}
