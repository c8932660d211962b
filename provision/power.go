package provision

import "context"

// Powerer is a provider that can stop a cluster's machines and start them
// again, keeping their disks, addresses and keys (labctl stop / start).
// Both act on r.Clusters only and are safe to re-run: a stop interrupted
// half-way is finished by the next.
type Powerer interface {
	Stop(ctx context.Context, r Request) error
	// Start starts the machines and records their nodes again (addresses
	// and host keys, as Provision does).
	Start(ctx context.Context, r Request) error
}
