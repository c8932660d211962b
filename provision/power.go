package provision

import (
	"context"

	"github.com/labctl/labctl/lab"
)

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

// FleetPowerer is a Powerer that may refuse a lab before anything changes
// (its error is bad input), and whose stop and start may act on every
// selected cluster in one call (fleet): a Pulumi stack is updated once
// for the class, not once per cluster, and not twice at the same time.
// Such a call gets the whole state and r.Clusters, and records the nodes
// of the selected clusters only.
type FleetPowerer interface {
	Powerer
	PowerPlan(l *lab.Lab, s *lab.State) (fleet bool, err error)
}
