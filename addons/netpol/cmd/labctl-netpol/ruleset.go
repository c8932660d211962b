// The enforcer's work is split in two so that the semantics can be
// tested without a kernel: Compile turns the cluster's objects into a
// Ruleset (plain data, one entry per isolated pod of this node), and
// Applier installs a Ruleset as one nftables table in a single netlink
// batch.

package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Ruleset is everything one node enforces. Pods that no policy selects are
// absent: their traffic is not filtered at all.
type Ruleset struct {
	Pods []Pod
	// Problems are policy parts that could not be understood (an invalid
	// selector, an unparsable CIDR); they match nothing, as the API server
	// would have refused most of them anyway.
	Problems []string
}

// Pod is one pod of this node selected by at least one policy.
type Pod struct {
	Namespace, Name string
	IPs             []netip.Addr
	// Ingress and Egress are nil when the pod is not isolated in that
	// direction; a non-nil Direction with no Allow denies everything new.
	Ingress *Direction
	Egress  *Direction
}

// Direction lists what new connections are allowed in one direction: the
// union of the rules of every policy that isolates the pod that way.
type Direction struct {
	Allow []Allow
}

// Allow lets new connections through when the peer (the source for ingress,
// the destination for egress) and the destination port both match.
type Allow struct {
	AllPeers bool
	Peers    []netip.Prefix
	AllPorts bool
	Ports    []Port
}

// Port is a destination port range of one protocol; First 0 and Last 65535
// means every port of that protocol.
type Port struct {
	Protocol    corev1.Protocol
	First, Last uint16
}

func (p Port) allPorts() bool { return p.First == 0 && p.Last == 65535 }

func (p Port) String() string {
	proto := strings.ToLower(string(p.Protocol))
	switch {
	case p.allPorts():
		return proto
	case p.First == p.Last:
		return fmt.Sprintf("%s/%d", proto, p.First)
	default:
		return fmt.Sprintf("%s/%d-%d", proto, p.First, p.Last)
	}
}

func (p Port) matches(proto corev1.Protocol, port uint16) bool {
	return p.Protocol == proto && port >= p.First && port <= p.Last
}

func (a Allow) matches(peer netip.Addr, proto corev1.Protocol, port uint16) bool {
	peerOK := a.AllPeers || slices.ContainsFunc(a.Peers, func(p netip.Prefix) bool { return p.Contains(peer) })
	portOK := a.AllPorts || slices.ContainsFunc(a.Ports, func(p Port) bool { return p.matches(proto, port) })
	return peerOK && portOK
}

func (d *Direction) allows(peer netip.Addr, proto corev1.Protocol, port uint16) bool {
	if d == nil {
		return true
	}
	return slices.ContainsFunc(d.Allow, func(a Allow) bool { return a.matches(peer, proto, port) })
}

// Allowed says whether this node lets a new connection from src to dst
// through, the way the installed table decides it: the source pod's egress
// (when it is one of this node's isolated pods) and then the destination
// pod's ingress must both allow it. Replies of an allowed connection always
// pass. Tests use it to state the semantics without a kernel.
func (r Ruleset) Allowed(src, dst netip.Addr, proto corev1.Protocol, port uint16) bool {
	for _, p := range r.Pods {
		if slices.Contains(p.IPs, src) && !p.Egress.allows(dst, proto, port) {
			return false
		}
		if slices.Contains(p.IPs, dst) && !p.Ingress.allows(src, proto, port) {
			return false
		}
	}
	return true
}

// String renders the ruleset for logs and golden files, one line per rule.
func (r Ruleset) String() string {
	var b strings.Builder
	for _, p := range r.Pods {
		fmt.Fprintf(&b, "pod %s/%s %s\n", p.Namespace, p.Name, joinStrings(p.IPs))
		writeDirection(&b, "ingress", "from", p.Ingress)
		writeDirection(&b, "egress", "to", p.Egress)
	}
	for _, problem := range r.Problems {
		fmt.Fprintf(&b, "problem: %s\n", problem)
	}
	return b.String()
}

func writeDirection(b *strings.Builder, name, peerWord string, d *Direction) {
	if d == nil {
		return
	}
	if len(d.Allow) == 0 {
		fmt.Fprintf(b, "  %s: deny all\n", name)
		return
	}
	fmt.Fprintf(b, "  %s:\n", name)
	for _, a := range d.Allow {
		peers, ports := "any", "any port"
		if !a.AllPeers {
			peers = joinStrings(a.Peers)
		}
		if !a.AllPorts {
			ports = joinStrings(a.Ports)
		}
		fmt.Fprintf(b, "    allow %s %s, %s\n", peerWord, peers, ports)
	}
}

func joinStrings[T fmt.Stringer](items []T) string {
	s := make([]string, len(items))
	for i, item := range items {
		s[i] = item.String()
	}
	return strings.Join(s, " ")
}
