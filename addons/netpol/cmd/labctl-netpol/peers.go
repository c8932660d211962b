package main

import (
	"cmp"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// selects matches a label selector; an invalid one selects nothing and is
// reported, so one broken policy cannot open or close more than it names.
func (c *compiler) selects(pol *networkingv1.NetworkPolicy, sel *metav1.LabelSelector, set labels.Set) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		c.problem(pol, "selector: %v", err)
		return false
	}
	return s.Matches(set)
}

func (c *compiler) namespaceLabels(name string) labels.Set {
	if set, ok := c.nsLabels[name]; ok {
		return set
	}
	// The API server puts this label on every namespace; a namespace we have
	// not seen yet still answers to it.
	return labels.Set{corev1.LabelMetadataName: name}
}

// peerPrefixes resolves a rule's from/to list to addresses: pod addresses as
// single-address prefixes, ipBlocks as prefixes with their exceptions cut
// out. An empty list means every peer.
func (c *compiler) peerPrefixes(pol *networkingv1.NetworkPolicy, peers []networkingv1.NetworkPolicyPeer) (all bool, prefixes []netip.Prefix) {
	if len(peers) == 0 {
		return true, nil
	}
	for _, peer := range peers {
		if peer.IPBlock != nil {
			prefixes = append(prefixes, c.ipBlock(pol, peer.IPBlock)...)
			continue
		}
		if peer.PodSelector == nil && peer.NamespaceSelector == nil {
			c.problem(pol, "a peer with no selector and no ipBlock")
			continue
		}
		for _, pod := range c.peers {
			if peer.NamespaceSelector == nil {
				if pod.Namespace != pol.Namespace {
					continue
				}
			} else if !c.selects(pol, peer.NamespaceSelector, c.namespaceLabels(pod.Namespace)) {
				continue
			}
			if peer.PodSelector != nil && !c.selects(pol, peer.PodSelector, pod.Labels) {
				continue
			}
			for _, ip := range podIPs(pod) {
				prefixes = append(prefixes, netip.PrefixFrom(ip, ip.BitLen()))
			}
		}
	}
	return false, prefixes
}

func (c *compiler) ipBlock(pol *networkingv1.NetworkPolicy, block *networkingv1.IPBlock) []netip.Prefix {
	cidr, err := netip.ParsePrefix(block.CIDR)
	if err != nil {
		c.problem(pol, "ipBlock: %v", err)
		return nil
	}
	var excepts []netip.Prefix
	for _, e := range block.Except {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			c.problem(pol, "ipBlock except: %v", err)
			// Failing closed: an exception we cannot read would otherwise
			// be let through by the rest of the block.
			return nil
		}
		excepts = append(excepts, p.Masked())
	}
	return subtract(cidr.Masked(), excepts)
}

// subtract returns the prefixes that cover p minus the excepts, splitting p
// in halves only where an exception lies, so a /24 less one address is
// eight prefixes.
func subtract(p netip.Prefix, excepts []netip.Prefix) []netip.Prefix {
	inside := false
	for _, e := range excepts {
		if e.Addr().Is4() != p.Addr().Is4() {
			continue
		}
		if e.Bits() <= p.Bits() && e.Contains(p.Addr()) {
			return nil
		}
		if p.Contains(e.Addr()) {
			inside = true
		}
	}
	if !inside {
		return []netip.Prefix{p}
	}
	low := netip.PrefixFrom(p.Addr(), p.Bits()+1)
	b := p.Addr().AsSlice()
	b[p.Bits()/8] |= 0x80 >> (p.Bits() % 8)
	highAddr, _ := netip.AddrFromSlice(b)
	high := netip.PrefixFrom(highAddr, p.Bits()+1)
	return append(subtract(low, excepts), subtract(high, excepts)...)
}

// normalize makes equal rulesets compare equal (the controller applies only
// on change, and golden files stay stable): sorted, deduplicated, and one
// Allow per distinct port list.
func normalize(d *Direction) *Direction {
	if d == nil {
		return nil
	}
	merged := map[string]*Allow{}
	var keys []string
	for _, a := range d.Allow {
		if a.AllPeers && a.AllPorts {
			return &Direction{Allow: []Allow{{AllPeers: true, AllPorts: true}}}
		}
		slices.SortFunc(a.Ports, comparePorts)
		a.Ports = slices.Compact(a.Ports)
		key := "any port"
		if !a.AllPorts {
			key = joinStrings(a.Ports)
		}
		m, ok := merged[key]
		if !ok {
			m = &Allow{AllPorts: a.AllPorts, Ports: a.Ports}
			merged[key] = m
			keys = append(keys, key)
		}
		m.AllPeers = m.AllPeers || a.AllPeers
		m.Peers = append(m.Peers, a.Peers...)
	}
	slices.Sort(keys)
	out := &Direction{}
	for _, key := range keys {
		m := merged[key]
		if m.AllPeers {
			m.Peers = nil
		} else {
			m.Peers = compactPrefixes(m.Peers)
		}
		out.Allow = append(out.Allow, *m)
	}
	return out
}

func comparePorts(a, b Port) int {
	return cmp.Or(cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.First, b.First), cmp.Compare(a.Last, b.Last))
}

// compactPrefixes sorts and drops every prefix that another one covers.
// Sorted by address then length, a prefix can only be covered by the last
// one kept, since prefixes are either nested or disjoint.
func compactPrefixes(ps []netip.Prefix) []netip.Prefix {
	slices.SortFunc(ps, func(a, b netip.Prefix) int {
		return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
	})
	var out []netip.Prefix
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].Bits() <= p.Bits() && out[n-1].Contains(p.Addr()) {
			continue
		}
		out = append(out, p)
	}
	return out
}
