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

// In a lab with spares, status speaks in attendees: a row per attendee
// with the cluster behind, then the spares, one of them waiting for a
// reset.
func TestStatusSpeaksInAttendees(t *testing.T) {
	s := &lab.State{}
	for i := 1; i <= 3; i++ {
		s.Clusters = append(s.Clusters, lab.Cluster{Index: i, Nodes: []lab.Node{{Name: "node1"}}})
	}
	s.Seat(2, 1)
	if _, err := s.Swap(1, 3, "attendee 01's until labctl swap at 2026-12-08T10:00:00Z"); err != nil {
		t.Fatal(err)
	}
	rows := Probe(context.Background(), s, func(int, string) remote.Executor { return nil }, Options{Timeout: time.Second})
	if rows[0].Cluster != 1 || !rows[0].Spare || rows[0].NeedsReset == "" || rows[2].Attendee != 1 {
		t.Fatalf("rows: %+v", rows)
	}
	var b bytes.Buffer
	if err := Render(&b, rows, time.Now()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ATTENDEE → CLUSTER") ||
		!strings.HasPrefix(lines[1], "01 → 03 ") || !strings.HasPrefix(lines[2], "02 → 02 ") || !strings.HasPrefix(lines[3], "spare → 01 ") ||
		!strings.Contains(lines[3], "needs reset: attendee 01's until labctl swap") {
		t.Fatalf("table:\n%s", b.String())
	}

	// Without spares: the table of before, cluster numbers only.
	plain := &lab.State{Clusters: []lab.Cluster{{Index: 1, Nodes: []lab.Node{{Name: "node1"}}}}}
	rows = Probe(context.Background(), plain, func(int, string) remote.Executor { return nil }, Options{Timeout: time.Second})
	b.Reset()
	Render(&b, rows, time.Now())
	if !strings.HasPrefix(b.String(), "CLUSTER ") || !strings.Contains(b.String(), "\n01 ") || rows[0].Attendee != 0 || rows[0].Spare {
		t.Fatalf("without spares:\n%s", b.String())
	}
}
