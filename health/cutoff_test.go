package health

import (
	"context"
	"fmt"
	"testing"

	"github.com/labctl/labctl/remote"
)

// cutOff is a node whose check command was stopped at the limit after
// printing out.
type cutOff struct {
	*remote.Fake
	out string
}

func (c cutOff) Run(context.Context, remote.Command) (remote.Result, error) {
	return remote.Result{Stdout: []byte(c.out), ExitCode: -1}, fmt.Errorf("01/node1: %q: %w", "printf ...", context.DeadlineExceeded)
}

// A node cut off by the time limit still names the check that failed
// before the cut (TestCourse at load 50 saw only "node1: ssh: ...").
func TestCutOffNodeNamesWhatFailedFirst(t *testing.T) {
	x := cutOff{remote.NewFake("01/node1"), "clusterip: curl: (28) Connection timed out after 3001 milliseconds \npod: "}
	f := checkNode(context.Background(), x, "node1", "line", "10.96.7.7", "10.244.0.5", nil)
	if len(f) != 2 || f[0].Check != "clusterip" || f[1].Check != "ssh" {
		t.Fatalf("findings %+v, want clusterip then ssh", f)
	}
	// Cut off before anything came back: only the cut.
	f = checkNode(context.Background(), cutOff{remote.NewFake("01/node1"), ""}, "node1", "line", "10.96.7.7", "10.244.0.5", nil)
	if len(f) != 1 || f[0].Check != "ssh" {
		t.Fatalf("findings %+v, want ssh alone", f)
	}
	// A pong before the cut is not a failure.
	f = checkNode(context.Background(), cutOff{remote.NewFake("01/node1"), "clusterip: pong\n"}, "node1", "line", "10.96.7.7", "10.244.0.5", nil)
	if len(f) != 1 || f[0].Check != "ssh" {
		t.Fatalf("findings %+v, want ssh alone", f)
	}
}
