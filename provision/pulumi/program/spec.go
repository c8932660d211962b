// Package program is the class's Pulumi program: one function that makes
// every node of every attendee cluster, on AWS or as local containers
// through labctl's own resource provider, and exports the output contract.
// The same function runs under `pulumi up` (see Pulumi.yaml at the
// repository root) and inside labctl through the Automation API.
package program

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labctl/labctl/lab"
)

// Spec is what the program builds: the lab's shape, where, and the key
// labctl logs in with.
type Spec struct {
	Lab       string
	Attendees int
	// Spares are clusters made beside the attendees' ones (spares: N),
	// numbered after them: clusters Attendees+1 to Attendees+Spares.
	Spares          int
	NodesPerCluster int
	Target          string // aws | local
	// AuthorizedKey is labctl's public key (authorized_keys format).
	AuthorizedKey string
	// User is the login labctl uses on the nodes.
	User  string
	AWS   lab.AWSSpec
	Local LocalSpec
	// EndsAt is the class's end (RFC 3339, "" for none), tagged on every
	// AWS resource.
	EndsAt string
	// Stopped are the clusters whose instances the program keeps stopped
	// (labctl stop); the others run. labctl passes the state's.
	Stopped []int
}

// clusters is how many clusters the program makes: the attendees' and
// the spares (lab.ClusterCount).
func (s Spec) clusters() int { return s.Attendees + s.Spares }

// attendeeTag is the labctl:attendee tag of cluster c's resources: the
// attendee it was made for (its number), or "spare" for a spare.
func (s Spec) attendeeTag(c int) string {
	if c > s.Attendees {
		return SpareTag
	}
	return strconv.Itoa(c)
}

// stopped says whether cluster c's machines are to be stopped.
func (s Spec) stopped(c int) bool { return slices.Contains(s.Stopped, c) }

// LocalSpec is the local target: labctl:local:* resources served by the
// labctl binary itself, backed by the local provider (podman).
type LocalSpec struct {
	Image  string // node image, already built
	Subnet string // the lab network's subnet ("" = podman picks)
}

// SpecFromLab derives the program's input from a defaulted lab file.
func SpecFromLab(l *lab.Lab, authorizedKey string) Spec {
	s := Spec{
		Lab: l.Name, Attendees: l.Attendees, Spares: l.Spares, NodesPerCluster: l.NodesPerCluster,
		Target: l.Provider.Pulumi.Target, AuthorizedKey: strings.TrimSpace(authorizedKey),
		User: l.SSH.User, AWS: l.Provider.AWS, Local: LocalSpec{Subnet: l.Provider.Subnet},
	}
	if end, ok := l.End(); ok {
		s.EndsAt = end.Format(time.RFC3339)
	}
	return s
}

// check refuses a spec the program cannot build; errors name the field.
func (s Spec) check() error {
	switch {
	case s.Lab == "":
		return fmt.Errorf("name: empty lab name")
	case s.Attendees < 1:
		return fmt.Errorf("attendees: %d", s.Attendees)
	case s.Spares < 0:
		return fmt.Errorf("spares: %d", s.Spares)
	case s.NodesPerCluster < 1:
		return fmt.Errorf("nodesPerCluster: %d", s.NodesPerCluster)
	case !strings.HasPrefix(s.AuthorizedKey, "ssh-"):
		return fmt.Errorf("ssh.identityFile: no public key for the nodes' authorized_keys")
	case s.Target != "aws" && s.Target != "local":
		return fmt.Errorf("provider.pulumi.target: %q is not aws or local", s.Target)
	case s.Target == "local" && s.Local.Image == "":
		return fmt.Errorf("provider.pulumi.target local: no node image")
	}
	return nil
}

// nodeName is the Pulumi name of a node's resources: "c01-node2".
func nodeName(c int, node string) string { return fmt.Sprintf("c%02d-%s", c, node) }

// ParseStopped reads the labctl:stopped config of `pulumi up` by hand:
// the stopped clusters' numbers, separated by commas ("" none).
func ParseStopped(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("labctl:stopped: %q is not a list of cluster numbers (1,3)", s)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// ResourceName is the Pulumi name of a node's resources ("c01-node2"):
// its instance, Elastic IP and InstanceState.
func ResourceName(c int, node string) string { return nodeName(c, node) }
