package main

import (
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// The expressions below are what `nft` would generate for the matches the
// table uses; writing them by hand is the price of having no nft binary.

// matchEstablished is `ct state established,related`.
func matchEstablished() []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED),
			Xor:  binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{0, 0, 0, 0}},
	}
}

// loadAddr loads the source or destination address into register 1, after
// checking the packet is of that address's family (an inet table sees both).
func loadAddr(ip netip.Addr, source bool) []expr.Any {
	family, offset, size := byte(unix.NFPROTO_IPV4), uint32(16), uint32(4)
	if source {
		offset = 12
	}
	if ip.Is6() {
		family, offset, size = unix.NFPROTO_IPV6, 24, 16
		if source {
			offset = 8
		}
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{family}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: size},
	}
}

// matchAddr is `ip saddr 10.0.0.1` (or daddr, or ip6).
func matchAddr(ip netip.Addr, source bool) []expr.Any {
	return append(loadAddr(ip, source), &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ip.AsSlice()})
}

// matchPrefix is `ip saddr 10.0.0.0/8`.
func matchPrefix(p netip.Prefix, source bool) []expr.Any {
	if p.Bits() == p.Addr().BitLen() {
		return matchAddr(p.Addr(), source)
	}
	size := p.Addr().BitLen() / 8
	mask := make([]byte, size)
	for i := range p.Bits() {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return append(loadAddr(p.Addr(), source),
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: uint32(size), Mask: mask, Xor: make([]byte, size)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Masked().Addr().AsSlice()})
}

// matchSet is `ip saddr @set`, for the many single pod addresses of a rule.
func matchSet(set *nftables.Set, sample netip.Addr, source bool) []expr.Any {
	return append(loadAddr(sample, source), &expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID})
}

var protocolNumbers = map[corev1.Protocol]byte{
	corev1.ProtocolTCP:  unix.IPPROTO_TCP,
	corev1.ProtocolUDP:  unix.IPPROTO_UDP,
	corev1.ProtocolSCTP: unix.IPPROTO_SCTP,
}

// matchPort is `meta l4proto tcp th dport 80-90`: the destination port sits
// at the same offset in TCP, UDP and SCTP headers.
func matchPort(p Port) []expr.Any {
	exprs := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{protocolNumbers[p.Protocol]}},
	}
	if p.allPorts() {
		return exprs
	}
	exprs = append(exprs, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2})
	if p.First == p.Last {
		return append(exprs, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(p.First)})
	}
	return append(exprs, &expr.Range{Op: expr.CmpOpEq, Register: 1,
		FromData: binaryutil.BigEndian.PutUint16(p.First), ToData: binaryutil.BigEndian.PutUint16(p.Last)})
}

func verdict(kind expr.VerdictKind, chain string) *expr.Verdict {
	return &expr.Verdict{Kind: kind, Chain: chain}
}
