// Package provision turns a lab file into machines: each provider makes
// sure every node of every attendee cluster exists and is running, and
// records the nodes (addresses, SSH ports, host keys) in the lab state.
package provision

import (
	"context"
	"io"

	"github.com/labctl/labctl/lab"
)

// Request is what a provider works on. Providers update State.Clusters in
// place, keeping what earlier runs recorded (passwords, pinned keys).
type Request struct {
	Lab      *lab.Lab
	StateDir string
	State    *lab.State
	Out      io.Writer
	// Clusters limits Destroy to these cluster numbers (all when empty).
	Clusters []int
}

// Provider makes nodes exist (Provision) and go away (Destroy).
type Provider interface {
	Provision(ctx context.Context, r Request) error
	Destroy(ctx context.Context, r Request) error
	// Identity is the private key file labctl logs in with ("" = ssh-agent).
	Identity(r Request) string
}

// Checker is a provider that can refuse a request before changing
// anything (missing credentials, an unusable backend or tool); its errors
// are bad input.
type Checker interface {
	Check(ctx context.Context, r Request) error
}

// Planner is a provider that prints its own plan for `up --dry-run`,
// changing no machine.
type Planner interface {
	Plan(ctx context.Context, r Request, w io.Writer) error
}

// Selected reports whether cluster n is one the request covers.
func (r Request) Selected(n int) bool {
	if len(r.Clusters) == 0 {
		return true
	}
	for _, c := range r.Clusters {
		if c == n {
			return true
		}
	}
	return false
}

// cluster returns cluster n of the state, appending it when new.
func cluster(s *lab.State, n int) *lab.Cluster {
	if c := s.Cluster(n); c != nil {
		return c
	}
	s.Clusters = append(s.Clusters, lab.Cluster{Index: n})
	return &s.Clusters[len(s.Clusters)-1]
}

// SetNode records a node's addresses in cluster n, keeping its pinned key
// unless the provider says the machine is new (newMachine).
func SetNode(s *lab.State, n int, node lab.Node, newMachine bool) {
	c := cluster(s, n)
	if old := c.Node(node.Name); old != nil {
		if node.HostKey == "" && !newMachine {
			node.HostKey = old.HostKey
		}
		*old = node
		return
	}
	c.Nodes = append(c.Nodes, node)
}
