package check

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// In a lab with spares, check's rows are the attendees, on the cluster
// behind; a spare only when --cluster names it.
func TestTargetsSpeakInAttendees(t *testing.T) {
	s := &lab.State{Clusters: []lab.Cluster{{Index: 1}, {Index: 2}, {Index: 3}}}
	s.Seat(2, 1)
	if _, err := s.Swap(1, 3, "swap"); err != nil {
		t.Fatal(err)
	}
	exec := func(int, string) remote.Executor { return nil }
	ts := Targets(s, exec, nil)
	if len(ts) != 2 || ts[0].Attendee != 1 || ts[0].Cluster != 3 || ts[1].Attendee != 2 || ts[1].Cluster != 2 {
		t.Fatalf("targets: %+v", ts)
	}
	if ts := Targets(s, exec, []int{1}); len(ts) != 1 || ts[0].Cluster != 1 || ts[0].Attendee != 0 {
		t.Fatalf("--cluster 1 (a spare): %+v", ts)
	}
	c, _ := Shipped()
	chapters, _ := c.Select([]string{"first-deployment"})
	for i := range ts {
		ts[i].Open = func(context.Context) (Env, error) { return Env{}, context.DeadlineExceeded }
	}
	rows := Run(context.Background(), ts, chapters, 2, 0)
	var b bytes.Buffer
	if err := Render(&b, rows, chapters); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"ATTENDEE → CLUSTER", "\n01 → 03 ", "\n02 → 02 ", "0 of 2 attendees have finished chapter first-deployment; behind: 01 → 03 (unreachable), 02 → 02 (unreachable)"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	WriteJSON(&b, rows, chapters)
	if !strings.Contains(b.String(), `"behind": [
        1,
        2
      ]`) || !strings.Contains(b.String(), `"attendee": 1`) {
		t.Errorf("json:\n%s", b.String())
	}
}
