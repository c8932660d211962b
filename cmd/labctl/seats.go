package main

import (
	"fmt"
	"slices"

	"github.com/labctl/labctl/lab"
)

// selectClusters turns --cluster (cluster numbers, as the node names and
// labctl destroy, stop and reset count) and --attendee (attendee numbers:
// the cluster that serves each, see labctl swap) into the clusters to
// work on, refusing a number the lab does not have. Empty: all.
func selectClusters(l *lab.Lab, s *lab.State, clusters, attendees []int) ([]int, error) {
	var out []int
	for _, c := range clusters {
		if s.Cluster(c) == nil {
			return nil, badInput("--cluster: lab %s has no cluster %d", l.Name, c)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	for _, a := range attendees {
		c, ok := s.ClusterFor(a)
		if !ok || s.Cluster(c) == nil {
			return nil, badInput("--attendee: lab %s has no attendee %d", l.Name, a)
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}

// noteRoles says on stderr, in a lab with spares, whom each of clusters
// serves: "labctl: attendee 01 → cluster 03", "labctl: spare cluster 02".
func (a *app) noteRoles(s *lab.State, clusters []int) {
	if !s.Seated() {
		return
	}
	for _, c := range clusters {
		line := s.Role(c)
		if cl := s.Cluster(c); cl != nil && cl.NeedsReset != "" {
			line += " (needs reset: " + cl.NeedsReset + ")"
		}
		fmt.Fprintln(a.errOut, "labctl:", line)
	}
}
