package status

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// A stopped cluster is not probed and shows as stopped, not unreachable.
func TestStoppedCluster(t *testing.T) {
	now := time.Now().UTC()
	c := lab.Cluster{Index: 1, Nodes: []lab.Node{{Name: "node1"}, {Name: "node2"}},
		Phases: map[string]lab.PhaseResult{"provision": {OK: true, At: now.Add(-10 * time.Hour)}}}
	c.SetStopped(true, now.Add(-2*time.Hour))
	st := &lab.State{Clusters: []lab.Cluster{c}}
	asked := 0
	rows := Probe(context.Background(), st, func(int, string) remote.Executor { asked++; return nil }, Options{})
	if asked != 0 {
		t.Errorf("a stopped cluster's nodes were probed (%d)", asked)
	}
	var b bytes.Buffer
	if err := Render(&b, rows, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "01       stopped") || !strings.Contains(out, "stopped for 2h00m (labctl start); ran 8.0h, stopped 2.0h") || strings.Contains(out, "unreachable") {
		t.Errorf("render:\n%s", out)
	}
	end := now.Add(26 * time.Hour)
	if got := EndLine(&end, now); got != "class ends "+end.Format(time.RFC3339)+": 26h00m left" {
		t.Errorf("EndLine: %q", got)
	}
	if got := EndLine(&now, now.Add(time.Hour)); !strings.HasPrefix(got, "class ended 1h00m ago") {
		t.Errorf("EndLine after the end: %q", got)
	}
}
