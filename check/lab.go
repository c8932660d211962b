package check

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// maxChecksFile bounds an instructor's checks file.
const maxChecksFile = 1 << 20

// ForLab is the shipped course plus the file the lab names (checks:,
// relative to the lab file at labFile).
func ForLab(l *lab.Lab, labFile string) (*Course, error) {
	if l.Checks == "" {
		return Shipped()
	}
	p := lab.ExpandHome(l.Checks)
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(labFile), p)
	}
	return load(p, func(p string) ([]byte, error) { return lab.ReadSmallFile(p, maxChecksFile) })
}

// Targets are the state's clusters (those in only, or all), each opened
// through its node1 (exec) with the admin kubeconfig the state keeps;
// kube.Connect reads node1's admin.conf again if that one is refused. In
// a lab with spares they are the attendees' clusters, in attendee order
// (a spare only when only names it).
func Targets(s *lab.State, exec func(cluster int, node string) remote.Executor, only []int) []Target {
	var ts []Target
	clusters := s.Clusters
	if s.Seated() {
		clusters = nil
		for _, a := range s.AttendeeNumbers() {
			n, _ := s.ClusterFor(a)
			if c := s.Cluster(n); c != nil {
				clusters = append(clusters, *c)
			}
		}
		for _, n := range s.Spares() {
			if contains(only, n) {
				clusters = append(clusters, *s.Cluster(n))
			}
		}
	}
	for _, c := range clusters {
		if len(only) > 0 && !contains(only, c.Index) {
			continue
		}
		attendee := 0
		if s.Seated() {
			attendee = s.AttendeeOf(c.Index)
		}
		ts = append(ts, Target{Cluster: c.Index, Attendee: attendee, Open: func(ctx context.Context) (Env, error) {
			n1 := FirstNode(c)
			x1 := exec(c.Index, n1)
			cl, err := kube.Connect(ctx, x1, kube.RecordedOf(&c), nil)
			if err != nil {
				return Env{}, err
			}
			return Env{Typed: cl.Typed, Dynamic: cl.Dynamic, Node1: x1, User: c.Login.User}, nil
		}})
	}
	return ts
}

// FirstNode is the cluster's control-plane node's name.
func FirstNode(c lab.Cluster) string {
	if c.Node("node1") != nil || len(c.Nodes) == 0 {
		return "node1"
	}
	return c.Nodes[0].Name
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// validUser is a login name safe in a path (the lab validated it; the
// state file might not have been).
func validUser(u string) bool {
	return u != "" && !strings.ContainsAny(u, "/ .\\$`'\"\n;&|<>()*?[]{}~")
}
