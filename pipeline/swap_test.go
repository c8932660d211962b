package pipeline

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/status"
)

func swapFixture(t *testing.T) (*Swap, *lab.Store) {
	t.Helper()
	st, err := lab.Open(t.TempDir(), "swap-unit", 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := &lab.State{Lab: "swap-unit"}
	for i := 1; i <= 4; i++ {
		s.Clusters = append(s.Clusters, lab.Cluster{Index: i, Nodes: []lab.Node{{Name: "node1"}, {Name: "node2"}}})
	}
	s.Seat(2, 2)
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	l := &lab.Lab{Name: "swap-unit", Attendees: 2, Spares: 2, Provider: lab.ProviderSpec{Type: "local"}}
	return &Swap{Lab: l, State: s, Store: st, Out: &bytes.Buffer{}, Attendee: 1,
		Now: func() time.Time { return time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC) }}, st
}

func row(c int, healthy bool) status.Row {
	two := 2
	r := status.Row{Cluster: c, Reachable: 2, Total: 2, Ready: &two, Health: &status.Health{OK: true}}
	if !healthy {
		one := 1
		r.Ready = &one
	}
	return r
}

// The first healthy spare in cluster order is the attendee's; the old
// cluster is reset, and the state on disk says so at every step.
func TestSwapPicksTheFirstHealthySpare(t *testing.T) {
	w, st := swapFixture(t)
	var probed []int
	w.Probe = func(_ context.Context, spares *lab.State) []status.Row {
		for _, c := range spares.Clusters {
			probed = append(probed, c.Index)
		}
		return []status.Row{row(3, false), row(4, true)}
	}
	var order []string
	w.Swapped = func(old, spare int) {
		s, err := lab.ReadState(st.Dir())
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := s.ClusterFor(1); c != 4 || s.Cluster(1).NeedsReset == "" {
			t.Errorf("when swapped, the saved state has attendee 1 on %d, cluster 1 needs reset %q", c, s.Cluster(1).NeedsReset)
		}
		order = append(order, "swapped")
	}
	w.Reset = func(_ context.Context, c int) error {
		order = append(order, "reset")
		if c != 1 {
			t.Errorf("reset cluster %d, want 1", c)
		}
		w.State.Cluster(c).NeedsReset = "" // as a successful reset does
		return nil
	}
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(probed) != 2 || strings.Join(order, ",") != "swapped,reset" {
		t.Errorf("probed %v, order %v", probed, order)
	}
	if c, _ := w.State.ClusterFor(1); c != 4 {
		t.Errorf("attendee 1 on cluster %d, want 4", c)
	}
	if sp := w.State.Spares(); len(sp) != 2 || sp[0] != 1 || sp[1] != 3 {
		t.Errorf("spares %v, want [1 3]", sp)
	}
	out := w.Out.(*bytes.Buffer).String()
	for _, want := range []string{"attendee 01 → cluster 04 (was cluster 01)", "cluster 01: a spare again"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// --no-reset: the old cluster stays, marked; it is never handed out.
func TestSwapNoReset(t *testing.T) {
	w, _ := swapFixture(t)
	w.NoReset = true
	w.Probe = func(_ context.Context, spares *lab.State) []status.Row {
		var rows []status.Row
		for _, c := range spares.Clusters {
			rows = append(rows, row(c.Index, true))
		}
		return rows
	}
	w.Reset = func(context.Context, int) error { t.Error("reset with NoReset"); return nil }
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c, _ := w.State.ClusterFor(1); c != 3 || w.State.Cluster(1).NeedsReset != "attendee 01's until labctl swap at 2026-12-08T10:00:00Z" {
		t.Fatalf("attendee 1 on %d; cluster 1 needs reset %q", c, w.State.Cluster(1).NeedsReset)
	}
	// Attendee 2 next: cluster 1 waits for its reset, so cluster 4.
	w.Attendee = 2
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c, _ := w.State.ClusterFor(2); c != 4 {
		t.Fatalf("attendee 2 on %d, want 4", c)
	}
	// Attendee 1 again: both spares wait for a reset.
	w.Attendee = 1
	err := w.Run(context.Background())
	if !errors.Is(err, ErrNoSpare) || !strings.Contains(err.Error(), "cluster 01 needs a reset") || !strings.Contains(err.Error(), "cluster 02 needs a reset") {
		t.Fatalf("want no spare left, naming both; got %v", err)
	}
}

// No healthy spare, or a refused confirmation: nothing changes, on disk
// or in memory.
func TestSwapChangesNothingWhenItCannot(t *testing.T) {
	for name, edit := range map[string]func(w *Swap){
		"unhealthy": func(w *Swap) {
			w.Probe = func(context.Context, *lab.State) []status.Row { return []status.Row{row(3, false), row(4, false)} }
		},
		"not confirmed": func(w *Swap) {
			w.Probe = func(context.Context, *lab.State) []status.Row { return []status.Row{row(3, true)} }
			w.Confirm = func(int, int, bool) error { return errors.New("not confirmed") }
		},
	} {
		t.Run(name, func(t *testing.T) {
			w, st := swapFixture(t)
			edit(w)
			w.Reset = func(context.Context, int) error { t.Error("reset"); return nil }
			err := w.Run(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			if name == "unhealthy" && (!errors.Is(err, ErrNoSpare) || !strings.Contains(err.Error(), "cluster 03: 1 of 2 nodes Ready; cluster 04: 1 of 2 nodes Ready; nothing changed")) {
				t.Errorf("error %v", err)
			}
			s, _ := lab.ReadState(st.Dir())
			for _, cur := range []*lab.State{s, w.State} {
				if c, _ := cur.ClusterFor(1); c != 1 || cur.Cluster(1).NeedsReset != "" {
					t.Errorf("attendee 1 on %d, cluster 1 needs reset %q", c, cur.Cluster(1).NeedsReset)
				}
			}
		})
	}
}

// A reset that fails leaves the attendee on the spare and the old
// cluster marked, and says how to finish.
func TestSwapResetFails(t *testing.T) {
	w, _ := swapFixture(t)
	w.Probe = func(context.Context, *lab.State) []status.Row { return []status.Row{row(3, true)} }
	w.Reset = func(context.Context, int) error { return errors.New("kubeadm init failed") }
	err := w.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "attendee 01 is on cluster 03, but the reset of cluster 01 failed") || !strings.Contains(err.Error(), "labctl reset --cluster 1 --level hard") {
		t.Fatalf("error %v", err)
	}
	if c, _ := w.State.ClusterFor(1); c != 3 || w.State.Cluster(1).NeedsReset == "" {
		t.Fatal("the swap did not stay")
	}
}

func TestUnhealthy(t *testing.T) {
	stopped := row(1, true)
	stopped.Power = &status.Power{Stopped: true}
	down := row(1, true)
	down.Reachable = 1
	down.Nodes = []status.NodeState{{Name: "node1", Reachable: true}, {Name: "node2", Error: "dial tcp: no route to host"}}
	failed := row(1, true)
	failed.Health = &status.Health{Failed: []string{"node1: kubelet: inactive"}}
	for r, want := range map[*status.Row]string{
		new(row(1, true)): "",
		&stopped:          "stopped",
		&down:             "node2 unreachable: dial tcp: no route to host",
		&failed:           "health: node1: kubelet: inactive",
	} {
		if got := Unhealthy(*r); got != want {
			t.Errorf("Unhealthy: %q, want %q", got, want)
		}
	}
}
