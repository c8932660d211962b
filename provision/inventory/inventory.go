// Package inventory provides nodes the instructor already has: the lab
// file lists each cluster's hosts. Nothing is created or destroyed.
package inventory

import (
	"context"
	"fmt"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
)

// Provider is the inventory provider.
type Provider struct{}

// Identity is the lab file's ssh.identityFile ("" means ssh-agent).
func (Provider) Identity(r provision.Request) string {
	return lab.ExpandHome(r.Lab.SSH.IdentityFile)
}

// Provision records the listed hosts as nodes node1..nodeN of each cluster.
// A host whose address changed loses its pinned key; one that kept it does not.
func (Provider) Provision(_ context.Context, r provision.Request) error {
	for i, hosts := range r.Lab.Provider.Clusters {
		for j, h := range hosts {
			name := lab.NodeName(j + 1)
			private := h.PrivateAddress
			if private == "" {
				private = h.Address
			}
			moved := true
			if c := r.State.Cluster(i + 1); c != nil {
				if old := c.Node(name); old != nil && old.PublicAddress == h.Address && old.Port == h.Port {
					moved = false
				}
			}
			provision.SetNode(r.State, i+1, lab.Node{Name: name, PublicAddress: h.Address, PrivateAddress: private, Port: h.Port}, moved)
		}
	}
	return nil
}

// Destroy forgets nothing on the hosts: they are not labctl's to remove.
func (Provider) Destroy(_ context.Context, r provision.Request) error {
	fmt.Fprintln(r.Out, "inventory hosts are not labctl's to destroy; use `labctl reset --level hard` to clean them")
	return nil
}
