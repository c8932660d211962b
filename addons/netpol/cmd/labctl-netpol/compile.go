package main

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Compile computes what node must enforce, following networking.k8s.io/v1:
// a pod selected by a policy of its namespace is isolated in the directions
// of that policy's policyTypes, and then only the union of those policies'
// rules lets new connections in or out. It reads nothing but its arguments.
func Compile(node string, pods []*corev1.Pod, namespaces []*corev1.Namespace, policies []*networkingv1.NetworkPolicy) Ruleset {
	c := compiler{nsLabels: map[string]labels.Set{}}
	for _, ns := range namespaces {
		c.nsLabels[ns.Name] = ns.Labels
	}
	for _, pod := range pods {
		if addressable(pod) {
			c.peers = append(c.peers, pod)
		}
	}
	var rs Ruleset
	for _, pod := range c.peers {
		if pod.Spec.NodeName != node {
			continue
		}
		if p, isolated := c.pod(pod, policies); isolated {
			rs.Pods = append(rs.Pods, p)
		}
	}
	slices.SortFunc(rs.Pods, func(a, b Pod) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	slices.Sort(c.problems)
	rs.Problems = slices.Compact(c.problems)
	return rs
}

type compiler struct {
	nsLabels map[string]labels.Set
	// peers are the pods that own their addresses: running or about to,
	// not on the host network (a host-network pod's address is its node's).
	peers    []*corev1.Pod
	problems []string
}

func (c *compiler) pod(pod *corev1.Pod, policies []*networkingv1.NetworkPolicy) (Pod, bool) {
	p := Pod{Namespace: pod.Namespace, Name: pod.Name, IPs: podIPs(pod)}
	for _, pol := range policies {
		if pol.Namespace != pod.Namespace || !c.selects(pol, &pol.Spec.PodSelector, pod.Labels) {
			continue
		}
		ingress, egress := policyTypes(pol)
		if ingress {
			if p.Ingress == nil {
				p.Ingress = &Direction{}
			}
			for _, rule := range pol.Spec.Ingress {
				p.Ingress.Allow = append(p.Ingress.Allow, c.ingressRule(pol, rule, pod)...)
			}
		}
		if egress {
			if p.Egress == nil {
				p.Egress = &Direction{}
			}
			for _, rule := range pol.Spec.Egress {
				p.Egress.Allow = append(p.Egress.Allow, c.egressRule(pol, rule)...)
			}
		}
	}
	p.Ingress = normalize(p.Ingress)
	p.Egress = normalize(p.Egress)
	return p, p.Ingress != nil || p.Egress != nil
}

// policyTypes applies the API's defaulting again, for objects that did not
// come through an API server (tests, or a server that skipped it).
func policyTypes(pol *networkingv1.NetworkPolicy) (ingress, egress bool) {
	if len(pol.Spec.PolicyTypes) == 0 {
		return true, len(pol.Spec.Egress) > 0
	}
	for _, t := range pol.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

func (c *compiler) ingressRule(pol *networkingv1.NetworkPolicy, rule networkingv1.NetworkPolicyIngressRule, target *corev1.Pod) []Allow {
	a := Allow{AllPorts: len(rule.Ports) == 0}
	a.AllPeers, a.Peers = c.peerPrefixes(pol, rule.From)
	for _, rp := range rule.Ports {
		if port, ok := c.port(pol, rp, target); ok {
			a.Ports = append(a.Ports, port)
		}
	}
	return keepIfUseful(a)
}

// egressRule differs from ingressRule because a named port belongs to the
// destination, which is the peer here: the rule splits into one Allow per
// peer pod that declares the name.
func (c *compiler) egressRule(pol *networkingv1.NetworkPolicy, rule networkingv1.NetworkPolicyEgressRule) []Allow {
	a := Allow{AllPorts: len(rule.Ports) == 0}
	a.AllPeers, a.Peers = c.peerPrefixes(pol, rule.To)
	var named []networkingv1.NetworkPolicyPort
	for _, rp := range rule.Ports {
		if rp.Port != nil && rp.Port.StrVal != "" {
			named = append(named, rp)
		} else if port, ok := c.port(pol, rp, nil); ok {
			a.Ports = append(a.Ports, port)
		}
	}
	allows := keepIfUseful(a)
	if len(named) == 0 {
		return allows
	}
	for _, peer := range c.peers {
		var ips []netip.Prefix
		for _, ip := range podIPs(peer) {
			if a.AllPeers || slices.ContainsFunc(a.Peers, func(p netip.Prefix) bool { return p.Contains(ip) }) {
				ips = append(ips, netip.PrefixFrom(ip, ip.BitLen()))
			}
		}
		if len(ips) == 0 {
			continue
		}
		peerAllow := Allow{Peers: ips}
		for _, rp := range named {
			if port, ok := c.port(pol, rp, peer); ok {
				peerAllow.Ports = append(peerAllow.Ports, port)
			}
		}
		allows = append(allows, keepIfUseful(peerAllow)...)
	}
	return allows
}

// keepIfUseful drops an Allow that can match nothing (a selector that
// selected no pod, or only named ports the target does not declare).
func keepIfUseful(a Allow) []Allow {
	if (!a.AllPeers && len(a.Peers) == 0) || (!a.AllPorts && len(a.Ports) == 0) {
		return nil
	}
	return []Allow{a}
}

// port turns one policy port into a range; a named port is looked up on
// owner, the pod that receives the connection, and nil owner means the name
// cannot be resolved here.
func (c *compiler) port(pol *networkingv1.NetworkPolicy, rp networkingv1.NetworkPolicyPort, owner *corev1.Pod) (Port, bool) {
	p := Port{Protocol: corev1.ProtocolTCP, First: 0, Last: 65535}
	if rp.Protocol != nil {
		p.Protocol = *rp.Protocol
	}
	switch p.Protocol {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
	default:
		c.problem(pol, "protocol %q", p.Protocol)
		return p, false
	}
	switch {
	case rp.Port == nil:
		return p, true
	case rp.Port.StrVal != "":
		if owner == nil {
			return p, false
		}
		number, ok := namedPort(owner, rp.Port.StrVal, p.Protocol)
		p.First, p.Last = number, number
		return p, ok
	case rp.Port.IntVal < 1 || rp.Port.IntVal > 65535:
		c.problem(pol, "port %d", rp.Port.IntVal)
		return p, false
	}
	p.First, p.Last = uint16(rp.Port.IntVal), uint16(rp.Port.IntVal)
	if rp.EndPort != nil {
		if *rp.EndPort < rp.Port.IntVal || *rp.EndPort > 65535 {
			c.problem(pol, "endPort %d", *rp.EndPort)
			return p, false
		}
		p.Last = uint16(*rp.EndPort)
	}
	return p, true
}

func namedPort(pod *corev1.Pod, name string, proto corev1.Protocol) (uint16, bool) {
	for _, ctr := range pod.Spec.Containers {
		for _, cp := range ctr.Ports {
			cpProto := cp.Protocol
			if cpProto == "" {
				cpProto = corev1.ProtocolTCP
			}
			if cp.Name == name && cpProto == proto && cp.ContainerPort > 0 && cp.ContainerPort <= 65535 {
				return uint16(cp.ContainerPort), true
			}
		}
	}
	return 0, false
}

func (c *compiler) problem(pol *networkingv1.NetworkPolicy, format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf("networkpolicy %s/%s: ", pol.Namespace, pol.Name)+fmt.Sprintf(format, args...))
}

// addressable says whether a pod owns addresses that can be a policy's
// target or peer.
func addressable(pod *corev1.Pod) bool {
	if pod.Spec.HostNetwork || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return false
	}
	return len(podIPs(pod)) > 0
}

func podIPs(pod *corev1.Pod) []netip.Addr {
	var ips []netip.Addr
	add := func(s string) {
		if ip, err := netip.ParseAddr(s); err == nil && !slices.Contains(ips, ip.Unmap()) {
			ips = append(ips, ip.Unmap())
		}
	}
	for _, pip := range pod.Status.PodIPs {
		add(pip.IP)
	}
	if pod.Status.PodIP != "" {
		add(pod.Status.PodIP)
	}
	slices.SortFunc(ips, netip.Addr.Compare)
	return ips
}
