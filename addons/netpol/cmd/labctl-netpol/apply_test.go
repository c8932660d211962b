package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// fakeNode is node1 of the test: a namespace with a bridge cni0 holding two
// pods, as the bridge CNI builds it, and a link to a "node2" namespace whose
// pod address is routed in. Addresses exist only inside these namespaces.
type fakeNode struct {
	node, web, curl, remote string // namespace names
}

const (
	webAddr    = "10.244.1.2"
	curlAddr   = "10.244.1.3"
	remoteAddr = "10.244.2.4"
	bridgeAddr = "10.244.1.1"
	// The pods are dual-stack, to exercise the IPv6 matches too.
	web6    = "fd00:244:1::2"
	curl6   = "fd00:244:1::3"
	bridge6 = "fd00:244:1::1"
)

func buildFakeNode(t *testing.T) fakeNode {
	removeStaleNetns(t)
	prefix := fmt.Sprintf("lnp%d", os.Getpid())
	f := fakeNode{node: prefix + "-node", web: prefix + "-web", curl: prefix + "-curl", remote: prefix + "-remote"}
	for _, ns := range []string{f.node, f.web, f.curl, f.remote} {
		addNetns(t, ns)
	}
	ipCmd(t, "-n", f.node, "link", "add", "cni0", "type", "bridge")
	ipCmd(t, "-n", f.node, "addr", "add", bridgeAddr+"/24", "dev", "cni0")
	ipCmd(t, "-n", f.node, "addr", "add", bridge6+"/64", "dev", "cni0", "nodad")
	ipCmd(t, "-n", f.node, "link", "set", "cni0", "up")
	for i, pod := range []struct{ ns, addr, addr6 string }{{f.web, webAddr, web6}, {f.curl, curlAddr, curl6}} {
		host := fmt.Sprintf("veth%d", i)
		ipCmd(t, "-n", f.node, "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", pod.ns)
		ipCmd(t, "-n", f.node, "link", "set", host, "master", "cni0", "up")
		ipCmd(t, "-n", pod.ns, "addr", "add", pod.addr+"/24", "dev", "eth0")
		ipCmd(t, "-n", pod.ns, "addr", "add", pod.addr6+"/64", "dev", "eth0", "nodad")
		ipCmd(t, "-n", pod.ns, "link", "set", "eth0", "up")
		ipCmd(t, "-n", pod.ns, "route", "add", "default", "via", bridgeAddr)
	}
	// node1 <-> node2 link; node2's pod range is routed through it, as the
	// bridge CNI's per-node routes do.
	ipCmd(t, "-n", f.node, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", f.remote)
	ipCmd(t, "-n", f.node, "addr", "add", "172.31.255.1/30", "dev", "eth0")
	ipCmd(t, "-n", f.node, "link", "set", "eth0", "up")
	ipCmd(t, "-n", f.node, "route", "add", "10.244.2.0/24", "via", "172.31.255.2")
	ipCmd(t, "-n", f.remote, "addr", "add", "172.31.255.2/30", "dev", "eth0")
	ipCmd(t, "-n", f.remote, "addr", "add", remoteAddr+"/32", "dev", "lo")
	ipCmd(t, "-n", f.remote, "link", "set", "eth0", "up")
	ipCmd(t, "-n", f.remote, "route", "add", "10.244.1.0/24", "via", "172.31.255.1", "src", remoteAddr)
	sysctl(t, f.node, "net.ipv4.ip_forward", "1")
	// What makes pod-to-pod traffic on one bridge visible to the forward
	// hook, as on a real node.
	sysctl(t, f.node, "net.bridge.bridge-nf-call-iptables", "1")
	sysctl(t, f.node, "net.bridge.bridge-nf-call-ip6tables", "1")
	for _, ns := range []string{f.web, f.curl, f.remote} {
		serve(t, ns, ":80")
	}
	serve(t, f.node, bridgeAddr+":80")
	return f
}

func withIPv6(p *corev1.Pod, ip string) *corev1.Pod {
	p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: ip})
	return p
}

// applierIn returns an applier for the namespace; the file stays open for
// the test, since netlink sockets are opened in it at each Apply.
func applierIn(t *testing.T, ns string) *Applier {
	fd, err := os.Open("/var/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.Close() })
	return NewApplier(nftables.WithNetNSFd(int(fd.Fd())))
}

type probe struct {
	from, to string // namespace, address
	want     bool
}

func (f fakeNode) check(t *testing.T, step string, probes []probe) {
	t.Helper()
	for _, p := range probes {
		// A blocked attempt costs its whole timeout: keep it short, the
		// namespaces answer in microseconds.
		got, err := talk(p.from, net.JoinHostPort(p.to, "80"), 600*time.Millisecond)
		switch {
		case p.want && err != nil:
			t.Errorf("%s: %s -> %s: %v, want an answer", step, p.from, p.to, err)
		case !p.want && err == nil:
			t.Errorf("%s: %s -> %s answered %q, want it blocked", step, p.from, p.to, got)
		case p.want && !strings.HasPrefix(got, "pong from "):
			t.Errorf("%s: %s -> %s: answer %q", step, p.from, p.to, got)
		default:
			t.Logf("%s: %s -> %s: %v", step, p.from, p.to, map[bool]string{true: "answered " + got, false: "blocked"}[err == nil])
		}
	}
}

// TestApplyOnFakeNode applies rulesets compiled from the deck's policies to
// a namespace laid out like a node of the bridge CNI, and proves with real
// TCP connections what gets through.
func TestApplyOnFakeNode(t *testing.T) {
	requireRoot(t)
	f := buildFakeNode(t)
	applier := applierIn(t, f.node)
	pods := []*corev1.Pod{
		withIPv6(newPod("default", "testweb", "node1", webAddr, "run=testweb"), web6),
		withIPv6(newPod("default", "testcurl", "node1", curlAddr, "run=testcurl"), curl6),
		newPod("default", "testkurl", "node2", remoteAddr, "run=testkurl"),
	}
	namespaces := []*corev1.Namespace{newNamespace("default")}
	apply := func(step string, policies ...string) {
		t.Helper()
		var objs []*networkingv1.NetworkPolicy
		for _, p := range policies {
			objs = append(objs, parsePolicy(t, "default", p))
		}
		rs := Compile("node1", pods, namespaces, objs)
		if err := applier.Apply(rs); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		t.Logf("%s: applied\n%s", step, rs)
	}

	f.check(t, "no policy", []probe{
		{f.curl, webAddr, true}, {f.curl, web6, true}, {f.remote, webAddr, true}, {f.web, curlAddr, true},
	})

	apply("deny all for testweb", denyAllForTestweb)
	f.check(t, "deny all for testweb", []probe{
		{f.curl, webAddr, false},                      // same bridge: bridged, seen through br_netfilter
		{f.remote, webAddr, false},                    // routed in from node2
		{f.curl, web6, false},                         // and over IPv6
		{f.node, webAddr, true}, {f.node, web6, true}, // the node itself (kubelet probes)
		// testweb's own connections work, and their replies get back in
		// although testweb's ingress is closed: established traffic passes.
		{f.web, curlAddr, true}, {f.web, remoteAddr, true}, {f.web, curl6, true},
		{f.remote, curlAddr, true}, // other pods are untouched
	})

	apply("allow from run=testcurl", denyAllForTestweb, allowTestcurlForTestweb)
	f.check(t, "allow from run=testcurl", []probe{
		{f.curl, webAddr, true}, {f.curl, web6, true}, {f.remote, webAddr, false}, {f.node, webAddr, true},
	})

	// A batch the kernel refuses (an address of no family cannot be
	// encoded) changes nothing: the previous table stays in force.
	broken := Ruleset{Pods: []Pod{{Namespace: "default", Name: "broken", IPs: []netip.Addr{{}}, Ingress: &Direction{}}}}
	if err := applier.Apply(broken); err == nil {
		t.Fatal("the kernel accepted a rule matching an empty address")
	} else {
		t.Logf("refused batch: %v", err)
	}
	f.check(t, "after a refused batch", []probe{{f.curl, webAddr, true}, {f.remote, webAddr, false}})

	apply("a set of pod addresses", ingressToTestweb(`
from: [{podSelector: {matchExpressions: [{key: run, operator: In, values: [testcurl, testkurl]}]}}]`))
	f.check(t, "a set of pod addresses", []probe{{f.curl, webAddr, true}, {f.remote, webAddr, true}})

	apply("ipBlock except, port range", ingressToTestweb(`
from: [{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.1.3/32]}}]
ports: [{port: 70, endPort: 90}]`))
	f.check(t, "ipBlock except, port range", []probe{{f.curl, webAddr, false}, {f.remote, webAddr, true}})

	apply("another port", ingressToTestweb(`
from: [{ipBlock: {cidr: 10.244.0.0/16}}]
ports: [{port: 81}, {port: 80, protocol: UDP}]`))
	f.check(t, "another port", []probe{{f.curl, webAddr, false}, {f.remote, webAddr, false}})

	apply("egress of testcurl to testweb:80 only", `
metadata: {name: curl-egress}
spec:
  podSelector: {matchLabels: {run: testcurl}}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {matchLabels: {run: testweb}}}], ports: [{port: 80}]}]`)
	f.check(t, "egress of testcurl to testweb:80 only", []probe{
		{f.curl, webAddr, true},
		{f.curl, remoteAddr, false},
		{f.curl, bridgeAddr, false}, // its own node: the input hook
		{f.remote, curlAddr, true},  // ingress is not isolated: replies leave
		{f.node, curlAddr, true},    // kubelet probes: the reply passes the input hook as established
	})

	conn, err := nftables.New(applier.opts...)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := conn.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 || tables[0].Name != TableName {
		t.Errorf("after several applies the node has tables %v, want only %s", tables, TableName)
	}

	if err := applier.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := applier.Remove(); err != nil {
		t.Fatalf("removing twice: %v", err)
	}
	f.check(t, "removed", []probe{{f.curl, remoteAddr, true}, {f.remote, webAddr, true}})
}
