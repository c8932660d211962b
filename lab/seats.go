package lab

import (
	"fmt"
	"maps"
	"slices"
)

// ClusterCount is how many clusters the lab builds: one per attendee, and
// the spares.
func (l *Lab) ClusterCount() int { return l.Attendees + l.Spares }

// Seated says whether the state has an attendee → cluster map (a lab with
// spares, now or before); without one, attendee N is cluster N.
func (s *State) Seated() bool { return s.Attendees != nil }

// ClusterFor is the number of the cluster that serves attendee a, and
// whether the lab has that attendee.
func (s *State) ClusterFor(a int) (int, bool) {
	if !s.Seated() {
		return a, s.Cluster(a) != nil
	}
	c, ok := s.Attendees[a]
	return c, ok
}

// AttendeeOf is the attendee cluster c serves; 0 for a spare.
func (s *State) AttendeeOf(c int) int {
	if !s.Seated() {
		if s.Cluster(c) == nil {
			return 0
		}
		return c
	}
	for a, cl := range s.Attendees {
		if cl == c {
			return a
		}
	}
	return 0
}

// AttendeeNumbers are the lab's attendees, in order.
func (s *State) AttendeeNumbers() []int {
	if !s.Seated() {
		var out []int
		for _, c := range s.Clusters {
			out = append(out, c.Index)
		}
		slices.Sort(out)
		return out
	}
	return slices.Sorted(maps.Keys(s.Attendees))
}

// Spares are the clusters that serve no attendee, in order.
func (s *State) Spares() []int {
	var out []int
	for _, c := range s.Clusters {
		if s.AttendeeOf(c.Index) == 0 {
			out = append(out, c.Index)
		}
	}
	slices.Sort(out)
	return out
}

// Role says what a cluster is for, in words: "attendee 01 → cluster 03",
// "spare cluster 02", or "cluster 02" in a lab without spares.
func (s *State) Role(c int) string {
	if !s.Seated() {
		return fmt.Sprintf("cluster %02d", c)
	}
	if a := s.AttendeeOf(c); a > 0 {
		return fmt.Sprintf("attendee %02d → cluster %02d", a, c)
	}
	return fmt.Sprintf("spare cluster %02d", c)
}

// Seat completes the attendee → cluster map for a lab of attendees and
// spares (clusters 1 to attendees+spares). A lab that never had spares
// keeps no map (attendee N is cluster N: nothing changes for it). Else
// every attendee keeps the cluster the map gives them when it is still
// one of the lab's; attendee N without one gets cluster N when it is free
// and needs no reset, else the lowest free cluster that needs none, else
// the lowest free one. Attendees beyond the count leave the map: their clusters
// become spares.
func (s *State) Seat(attendees, spares int) {
	if s.Attendees == nil && spares == 0 {
		return
	}
	total := attendees + spares
	seats := map[int]int{}
	taken := map[int]bool{}
	for _, a := range slices.Sorted(maps.Keys(s.Attendees)) {
		c := s.Attendees[a]
		if a < 1 || a > attendees || c < 1 || c > total || taken[c] {
			continue
		}
		seats[a], taken[c] = c, true
	}
	free := func(ok func(c int) bool) int {
		for c := 1; c <= total; c++ {
			if !taken[c] && ok(c) {
				return c
			}
		}
		return 0
	}
	for a := 1; a <= attendees; a++ {
		if _, ok := seats[a]; ok {
			continue
		}
		clean := func(c int) bool { cl := s.Cluster(c); return cl == nil || cl.NeedsReset == "" }
		c := free(func(c int) bool { return c == a && clean(c) })
		for _, ok := range []func(int) bool{clean, func(c int) bool { return c == a }, func(int) bool { return true }} {
			if c == 0 {
				c = free(ok)
			}
		}
		seats[a], taken[c] = c, true
	}
	s.Attendees = seats
}

// Swap gives attendee a the spare cluster spare, and marks the cluster
// the attendee leaves as needing a reset (why says when and why). It
// changes nothing and returns an error when a is not an attendee or spare
// not a spare.
func (s *State) Swap(a, spare int, why string) (old int, err error) {
	if !s.Seated() {
		return 0, fmt.Errorf("the lab has no spare clusters")
	}
	old, ok := s.Attendees[a]
	if !ok {
		return 0, fmt.Errorf("the lab has no attendee %d", a)
	}
	sc := s.Cluster(spare)
	if sc == nil || s.AttendeeOf(spare) != 0 {
		return 0, fmt.Errorf("cluster %d is not a spare", spare)
	}
	s.Attendees[a] = spare
	if oc := s.Cluster(old); oc != nil {
		oc.NeedsReset = why
	}
	return old, nil
}
