package main

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// The fixtures: node1 is "this node". Pods are named after the deck's
// network-policy chapter (testweb, testcurl, testkurl).

func labelMap(kv []string) map[string]string {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return m
}

func newPod(ns, name, node, ip string, labels ...string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labelMap(labels)},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "main"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}},
	}
}

func withPorts(p *corev1.Pod, ports ...corev1.ContainerPort) *corev1.Pod {
	p.Spec.Containers[0].Ports = ports
	return p
}

func newNamespace(name string, labels ...string) *corev1.Namespace {
	l := labelMap(labels)
	l[corev1.LabelMetadataName] = name
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
}

// parsePolicy reads a policy as a person writes it, so that tests can quote
// the deck's YAML as it is.
func parsePolicy(t *testing.T, ns, text string) *networkingv1.NetworkPolicy {
	t.Helper()
	var pol networkingv1.NetworkPolicy
	if err := yaml.UnmarshalStrict([]byte(text), &pol); err != nil {
		t.Fatalf("policy %q: %v", text, err)
	}
	if pol.Namespace == "" {
		pol.Namespace = ns
	}
	return &pol
}

// cluster is the fixture most tests use.
type cluster struct {
	pods       []*corev1.Pod
	namespaces []*corev1.Namespace
}

func newCluster() cluster {
	hostPod := newPod("kube-system", "traefik", "node1", "192.168.0.11", "run=testcurl")
	hostPod.Spec.HostNetwork = true
	done := newPod("default", "finished", "node1", "10.244.1.9", "run=testcurl")
	done.Status.Phase = corev1.PodSucceeded
	return cluster{
		pods: []*corev1.Pod{
			withPorts(newPod("default", "testweb", "node1", "10.244.1.2", "run=testweb"),
				corev1.ContainerPort{Name: "http", ContainerPort: 80},
				corev1.ContainerPort{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}),
			newPod("default", "testcurl", "node1", "10.244.1.3", "run=testcurl"),
			newPod("default", "testkurl", "node2", "10.244.2.4", "run=testkurl"),
			newPod("blue", "bluecurl", "node2", "10.244.2.5", "run=testcurl"),
			withPorts(newPod("blue", "blueweb", "node2", "10.244.2.6", "run=testweb"),
				corev1.ContainerPort{Name: "http", ContainerPort: 8080}),
			hostPod, done,
		},
		namespaces: []*corev1.Namespace{newNamespace("default"), newNamespace("blue", "team=blue"), newNamespace("kube-system")},
	}
}

// Addresses of the fixture, by pod name.
var (
	testweb  = netip.MustParseAddr("10.244.1.2")
	testcurl = netip.MustParseAddr("10.244.1.3")
	testkurl = netip.MustParseAddr("10.244.2.4")
	bluecurl = netip.MustParseAddr("10.244.2.5")
	blueweb  = netip.MustParseAddr("10.244.2.6")
	finished = netip.MustParseAddr("10.244.1.9")
	node1    = netip.MustParseAddr("192.168.0.11")
	outside  = netip.MustParseAddr("192.0.2.1")
)

// flow is one new connection and whether node1 must let it through.
type flow struct {
	src, dst netip.Addr
	proto    corev1.Protocol
	port     uint16
	want     bool
}

func tcp(src, dst netip.Addr, port uint16, want bool) flow {
	return flow{src, dst, corev1.ProtocolTCP, port, want}
}

func udp(src, dst netip.Addr, port uint16, want bool) flow {
	return flow{src, dst, corev1.ProtocolUDP, port, want}
}

func checkFlows(t *testing.T, rs Ruleset, flows []flow) {
	t.Helper()
	for _, f := range flows {
		if got := rs.Allowed(f.src, f.dst, f.proto, f.port); got != f.want {
			t.Errorf("%s -> %s %s/%d: allowed %v, want %v\nruleset:\n%s", f.src, f.dst, f.proto, f.port, got, f.want, rs)
		}
	}
}
