package lab

import "fmt"

// validateUserNS checks provider.userns: only the local provider's own
// nodes can run in a user namespace, and such a node cannot attach a loop
// device (the host's), so it has no /portworx.blk.
func (l *Lab) validateUserNS() error {
	if !l.Provider.UserNS {
		return nil
	}
	if l.Provider.Type != "local" {
		return fmt.Errorf("provider.userns: only the local provider's nodes run in a user namespace, not %s's", l.Provider.Type)
	}
	if l.Nodes.PortworxSize != "0" {
		return fmt.Errorf("nodes.portworxSize: %q: a node in a user namespace (provider.userns) cannot attach a loop device; leave it out or set \"0\"", l.Nodes.PortworxSize)
	}
	return nil
}
