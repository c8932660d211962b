// Package program is the class's Pulumi program: one function that makes
// every node of every attendee cluster, on AWS or as local containers
// through labctl's own resource provider, and exports the output contract.
// The same function runs under `pulumi up` (see Pulumi.yaml at the
// repository root) and inside labctl through the Automation API.
package program

import (
	"fmt"
	"strings"

	"github.com/labctl/labctl/lab"
)

// Spec is what the program builds: the lab's shape, where, and the key
// labctl logs in with.
type Spec struct {
	Lab             string
	Attendees       int
	NodesPerCluster int
	Target          string // aws | local
	// AuthorizedKey is labctl's public key (authorized_keys format).
	AuthorizedKey string
	// User is the login labctl uses on the nodes.
	User  string
	AWS   lab.AWSSpec
	Local LocalSpec
}

// LocalSpec is the local target: labctl:local:* resources served by the
// labctl binary itself, backed by the local provider (podman).
type LocalSpec struct {
	Image  string // node image, already built
	Subnet string // the lab network's subnet ("" = podman picks)
}

// SpecFromLab derives the program's input from a defaulted lab file.
func SpecFromLab(l *lab.Lab, authorizedKey string) Spec {
	return Spec{
		Lab: l.Name, Attendees: l.Attendees, NodesPerCluster: l.NodesPerCluster,
		Target: l.Provider.Pulumi.Target, AuthorizedKey: strings.TrimSpace(authorizedKey),
		User: l.SSH.User, AWS: l.Provider.AWS, Local: LocalSpec{Subnet: l.Provider.Subnet},
	}
}

// check refuses a spec the program cannot build; errors name the field.
func (s Spec) check() error {
	switch {
	case s.Lab == "":
		return fmt.Errorf("name: empty lab name")
	case s.Attendees < 1:
		return fmt.Errorf("attendees: %d", s.Attendees)
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
