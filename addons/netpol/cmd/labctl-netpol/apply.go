package main

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// TableName is the one nftables table (family inet) the enforcer owns.
const TableName = "labctl-netpol"

// Applier installs rulesets into the kernel through netlink.
type Applier struct {
	opts []nftables.ConnOption
}

// NewApplier returns an applier for the current network namespace, or for
// another one with nftables.WithNetNSFd (the tests' fake nodes).
func NewApplier(opts ...nftables.ConnOption) *Applier {
	return &Applier{opts: opts}
}

// The table's shape: base chains at the filter hooks accept replies first,
// then jump to one chain per isolated pod and direction, which returns when
// a rule allows the connection and drops otherwise. Forward sees pod-to-pod
// traffic (bridged, thanks to br_netfilter, or routed from other nodes);
// input sees a pod talking to its own node, which egress rules also govern.
// Nothing hooks output, so the node itself (kubelet probes) always reaches
// its pods.

// Apply replaces the table with rs in one netlink batch: the kernel swaps
// the old table for the new one atomically, so no packet sees a half-built
// ruleset or none at all.
func (a *Applier) Apply(rs Ruleset) error {
	conn, err := nftables.New(a.opts...)
	if err != nil {
		return fmt.Errorf("nftables: open netlink: %w", err)
	}
	t := &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
	// Adding before deleting makes the delete valid when no table exists yet.
	conn.AddTable(t)
	conn.DelTable(t)
	conn.AddTable(t)
	accept := nftables.ChainPolicyAccept
	base := func(name string, hook *nftables.ChainHook) *nftables.Chain {
		c := conn.AddChain(&nftables.Chain{Name: name, Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: hook, Priority: nftables.ChainPriorityFilter, Policy: &accept})
		conn.AddRule(&nftables.Rule{Table: t, Chain: c, Exprs: append(matchEstablished(), verdict(expr.VerdictAccept, ""))})
		return c
	}
	forward := base("forward", nftables.ChainHookForward)
	input := base("input", nftables.ChainHookInput)

	b := batch{conn: conn, table: t}
	for i, pod := range rs.Pods {
		if pod.Egress != nil {
			name := fmt.Sprintf("egress-%d", i)
			for _, ip := range pod.IPs {
				b.jump(forward, matchAddr(ip, true), name)
				b.jump(input, matchAddr(ip, true), name)
			}
			if err := b.podChain(name, pod.Egress, false); err != nil {
				return fmt.Errorf("nftables: %s for pod %s/%s: %w", name, pod.Namespace, pod.Name, err)
			}
		}
		if pod.Ingress != nil {
			name := fmt.Sprintf("ingress-%d", i)
			for _, ip := range pod.IPs {
				b.jump(forward, matchAddr(ip, false), name)
			}
			if err := b.podChain(name, pod.Ingress, true); err != nil {
				return fmt.Errorf("nftables: %s for pod %s/%s: %w", name, pod.Namespace, pod.Name, err)
			}
		}
	}
	if err := b.flush(); err != nil {
		return fmt.Errorf("nftables: replace table inet %s: %w", TableName, err)
	}
	return nil
}

// Remove deletes the table, if there is one: traffic is then unfiltered.
func (a *Applier) Remove() error {
	conn, err := nftables.New(a.opts...)
	if err != nil {
		return fmt.Errorf("nftables: open netlink: %w", err)
	}
	t := &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
	conn.AddTable(t)
	conn.DelTable(t)
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("nftables: delete table inet %s: %w", TableName, err)
	}
	return nil
}

// batch queues messages in the order the kernel needs them: a chain exists
// before a rule jumps to it, a set before a rule looks into it.
type batch struct {
	conn  *nftables.Conn
	table *nftables.Table
	// jumps are held back until every pod chain is queued.
	jumps []*nftables.Rule
}

func (b *batch) jump(from *nftables.Chain, match []expr.Any, to string) {
	b.jumps = append(b.jumps, &nftables.Rule{Table: b.table, Chain: from, Exprs: append(match, verdict(expr.VerdictJump, to))})
}

func (b *batch) flush() error {
	for _, r := range b.jumps {
		b.conn.AddRule(r)
	}
	return b.conn.Flush()
}

// podChain fills one pod's chain: each Allow becomes rules (peer match ×
// port match) that return, and what no rule returned is dropped.
func (b *batch) podChain(name string, d *Direction, peerIsSource bool) error {
	chain := b.conn.AddChain(&nftables.Chain{Name: name, Table: b.table})
	for _, allow := range d.Allow {
		peers, err := b.peerMatches(allow, peerIsSource)
		if err != nil {
			return err
		}
		ports := [][]expr.Any{nil}
		if !allow.AllPorts {
			ports = nil
			for _, p := range allow.Ports {
				ports = append(ports, matchPort(p))
			}
		}
		for _, peer := range peers {
			for _, port := range ports {
				exprs := append(append(append([]expr.Any{}, peer...), port...), verdict(expr.VerdictReturn, ""))
				b.conn.AddRule(&nftables.Rule{Table: b.table, Chain: chain, Exprs: exprs})
			}
		}
	}
	b.conn.AddRule(&nftables.Rule{Table: b.table, Chain: chain, Exprs: []expr.Any{verdict(expr.VerdictDrop, "")}})
	return nil
}

// peerMatches puts single addresses (pods) of each family in one anonymous
// set and gives every wider prefix (ipBlocks) its own match.
func (b *batch) peerMatches(allow Allow, source bool) ([][]expr.Any, error) {
	if allow.AllPeers {
		return [][]expr.Any{nil}, nil
	}
	var matches [][]expr.Any
	var singles [2][]netip.Addr
	for _, p := range allow.Peers {
		switch {
		case p.Bits() != p.Addr().BitLen():
			matches = append(matches, matchPrefix(p, source))
		case p.Addr().Is4():
			singles[0] = append(singles[0], p.Addr())
		default:
			singles[1] = append(singles[1], p.Addr())
		}
	}
	for i, addrs := range singles {
		switch len(addrs) {
		case 0:
			continue
		case 1:
			matches = append(matches, matchAddr(addrs[0], source))
			continue
		}
		set := &nftables.Set{Table: b.table, Anonymous: true, Constant: true, KeyType: nftables.TypeIPAddr}
		if i == 1 {
			set.KeyType = nftables.TypeIP6Addr
		}
		elems := make([]nftables.SetElement, len(addrs))
		for j, addr := range addrs {
			elems[j] = nftables.SetElement{Key: addr.AsSlice()}
		}
		if err := b.conn.AddSet(set, elems); err != nil {
			return nil, fmt.Errorf("address set: %w", err)
		}
		matches = append(matches, matchSet(set, addrs[0], source))
	}
	return matches, nil
}
