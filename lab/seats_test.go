package lab

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
)

func clusters(n int) []Cluster {
	var cs []Cluster
	for i := 1; i <= n; i++ {
		cs = append(cs, Cluster{Index: i})
	}
	return cs
}

func TestSpareCounts(t *testing.T) {
	l, err := Parse("lab.yaml", []byte("spares: 1\nprovider:\n  type: inventory\n  clusters: [[{address: 1.2.3.4}], [{address: 1.2.3.5}], [{address: 1.2.3.6}]]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Attendees != 2 || l.Spares != 1 || l.ClusterCount() != 3 {
		t.Errorf("inventory of 3 with a spare: %d attendees, %d spares, %d clusters; want 2, 1, 3", l.Attendees, l.Spares, l.ClusterCount())
	}
	l, err = Load(LoadOptions{Path: "/nonexistent/lab.yaml", AllowMissing: true, Environ: []string{"LABCTL_SPARES=2", "LABCTL_ATTENDEES=3"}})
	if err != nil {
		t.Fatal(err)
	}
	if l.ClusterCount() != 5 {
		t.Errorf("LABCTL_SPARES=2 with 3 attendees: %d clusters, want 5", l.ClusterCount())
	}
}

// A lab without spares, and a state from before them, keep no map:
// attendee N is cluster N, and nothing of the state changes.
func TestSeatWithoutSpares(t *testing.T) {
	s := &State{Clusters: clusters(3)}
	before, _ := json.Marshal(s)
	s.Seat(3, 0)
	after, _ := json.Marshal(s)
	if string(before) != string(after) || s.Seated() {
		t.Fatalf("a lab without spares gained a map: %s", after)
	}
	if strings.Contains(string(after), "attendees") {
		t.Errorf("state without spares mentions attendees: %s", after)
	}
	for a := 1; a <= 3; a++ {
		if c, ok := s.ClusterFor(a); !ok || c != a || s.AttendeeOf(a) != a {
			t.Errorf("attendee %d: cluster %d (%v), cluster %d serves %d", a, c, ok, a, s.AttendeeOf(a))
		}
	}
	if _, ok := s.ClusterFor(4); ok {
		t.Error("attendee 4 of 3 found")
	}
	if len(s.Spares()) != 0 || s.Role(2) != "cluster 02" {
		t.Errorf("spares %v, role %q", s.Spares(), s.Role(2))
	}
}

func TestSeatAndSwap(t *testing.T) {
	s := &State{Clusters: clusters(3)}
	s.Seat(2, 1)
	if want := map[int]int{1: 1, 2: 2}; !maps.Equal(s.Attendees, want) {
		t.Fatalf("seats %v, want %v", s.Attendees, want)
	}
	if sp := s.Spares(); len(sp) != 1 || sp[0] != 3 || s.Role(3) != "spare cluster 03" {
		t.Fatalf("spares %v, role %q", sp, s.Role(3))
	}

	// Swap: attendee 1 to the spare; cluster 1 becomes a spare to reset.
	old, err := s.Swap(1, 3, "attendee 01's until a swap")
	if err != nil || old != 1 {
		t.Fatalf("swap: %d, %v", old, err)
	}
	if c, _ := s.ClusterFor(1); c != 3 || s.AttendeeOf(3) != 1 || s.AttendeeOf(1) != 0 {
		t.Fatalf("after swap: attendee 1 on %d, cluster 3 serves %d, cluster 1 serves %d", c, s.AttendeeOf(3), s.AttendeeOf(1))
	}
	if s.Cluster(1).NeedsReset == "" || s.Role(3) != "attendee 01 → cluster 03" {
		t.Fatalf("cluster 1 needs reset %q; role of 3 %q", s.Cluster(1).NeedsReset, s.Role(3))
	}
	// Bad swaps change nothing.
	for _, bad := range []struct{ a, spare int }{{7, 1}, {2, 3}, {2, 9}, {0, 1}} {
		before := maps.Clone(s.Attendees)
		if _, err := s.Swap(bad.a, bad.spare, "x"); err == nil || !maps.Equal(before, s.Attendees) {
			t.Errorf("swap(%d, %d): err %v, seats %v", bad.a, bad.spare, err, s.Attendees)
		}
	}

	// A re-run of up keeps the map, and survives a save and a load.
	s.Seat(2, 1)
	data, _ := json.Marshal(s)
	var back State
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if want := map[int]int{1: 3, 2: 2}; !maps.Equal(back.Attendees, want) {
		t.Fatalf("after save and load: %v, want %v (%s)", back.Attendees, want, data)
	}

	// One more attendee and one more spare: the new attendee gets the new
	// cluster rather than the one waiting for a reset.
	back.Clusters = append(back.Clusters, Cluster{Index: 4})
	back.Seat(3, 1)
	if want := map[int]int{1: 3, 2: 2, 3: 4}; !maps.Equal(back.Attendees, want) {
		t.Errorf("a third attendee: %v, want %v", back.Attendees, want)
	}
	// Fewer attendees: the one who leaves frees a spare.
	back.Seat(1, 3)
	if want := map[int]int{1: 3}; !maps.Equal(back.Attendees, want) || len(back.Spares()) != 3 {
		t.Errorf("one attendee: %v, spares %v", back.Attendees, back.Spares())
	}
	// Fewer clusters than the one an attendee is on: that attendee moves
	// to the lowest clean cluster, and the map stays one to one.
	back.Seat(2, 0)
	if want := map[int]int{1: 2, 2: 1}; !maps.Equal(back.Attendees, want) {
		t.Errorf("2 attendees, no spares, after a swap: %v, want %v", back.Attendees, want)
	}
}
