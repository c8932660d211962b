package provision

import (
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// HostFor is the SSH endpoint of node n of cluster c.
func HostFor(c *lab.Cluster, n *lab.Node) remote.Host {
	h := remote.Host{Name: lab.Label(c.Index, n.Name), Cluster: c.Index, Node: n.Name, Address: n.PublicAddress, Port: n.Port, HostKey: n.HostKey}
	if n.Runtime != "" {
		h.Runtime, h.Container = n.Runtime, n.ID
	}
	return h
}

// ExecutorFor is the executor for node of cluster, or nil if the state
// has no such node.
func ExecutorFor(e *remote.Engine, s *lab.State, cluster int, node string) remote.Executor {
	c := s.Cluster(cluster)
	if c == nil {
		return nil
	}
	n := c.Node(node)
	if n == nil {
		return nil
	}
	return e.Host(HostFor(c, n))
}
