package lab

import (
	"fmt"
	"sort"
)

// EnsureLogins gives every cluster of the state its attendee login: the
// lab file's password if it sets one, else the cluster's existing password,
// else a new one distinct from all others.
func EnsureLogins(l *Lab, s *State) error {
	used := map[string]bool{}
	for _, c := range s.Clusters {
		used[c.Login.Password] = true
	}
	for i := range s.Clusters {
		c := &s.Clusters[i]
		c.Login.User = l.Login.User
		if l.Login.Password != "" {
			c.Login.Password = l.Login.Password
			continue
		}
		if c.Login.Password != "" {
			continue
		}
		for {
			p, err := NewPassword()
			if err != nil {
				return fmt.Errorf("cluster %d: %w", c.Index, err)
			}
			if !used[p] {
				used[p] = true
				c.Login.Password = p
				break
			}
		}
	}
	sort.Slice(s.Clusters, func(i, j int) bool { return s.Clusters[i].Index < s.Clusters[j].Index })
	for i := range s.Clusters {
		nodes := s.Clusters[i].Nodes
		sort.Slice(nodes, func(a, b int) bool { return nodeNumber(nodes[a].Name) < nodeNumber(nodes[b].Name) })
	}
	return nil
}

func nodeNumber(name string) int {
	var n int
	fmt.Sscanf(name, "node%d", &n)
	return n
}

// NodeName is the host name of node i (1-based) of a cluster.
func NodeName(i int) string { return fmt.Sprintf("node%d", i) }
