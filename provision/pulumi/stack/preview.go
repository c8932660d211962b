package stack

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
)

// preview is `pulumi preview` of the class program, counted by resource
// type. No machine is made or changed; the stack itself is created in the
// backend if it is new.
func (rn *Runner) preview(ctx context.Context) error {
	st, err := rn.open(ctx, true)
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
		return fmt.Errorf("pulumi preview (stack %s): %w", rn.Req.Lab.Name, shortErr(err))
	}
	if len(counts) == 0 {
		fmt.Fprintln(rn.Out, "    pulumi preview: no changes")
	}
	var lines []string
	for k, n := range counts {
		lines = append(lines, fmt.Sprintf("    pulumi preview: %s × %d", k, n))
	}
	sort.Strings(lines)
	fmt.Fprintln(rn.Out, strings.Join(lines, "\n"))
	return nil
}
