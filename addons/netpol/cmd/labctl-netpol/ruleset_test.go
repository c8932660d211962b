package main

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	golden_ "github.com/labctl/labctl/internal/golden"
)

func golden(t *testing.T, name, got string) {
	t.Helper()
	golden_.Check(t, name, got)
}

// TestCourseGolden shows, as a reviewer reads it, what node1 enforces once
// the deck's chapter has applied its policies, plus an ipBlock and an egress
// policy to show their shapes.
func TestCourseGolden(t *testing.T) {
	c := newCluster()
	policies := []*networkingv1.NetworkPolicy{
		parsePolicy(t, "default", denyAllForTestweb),
		parsePolicy(t, "default", allowTestcurlForTestweb),
		parsePolicy(t, "default", ingressToTestweb(`
from:
- ipBlock: {cidr: 4.42.6.0/24, except: [4.42.6.5/32]}
ports: [{port: 8000}, {port: http}]`)),
		parsePolicy(t, "default", `
metadata: {name: curl-egress}
spec:
  podSelector: {matchLabels: {run: testcurl}}
  egress:
  - to: [{namespaceSelector: {matchLabels: {team: blue}}}]
    ports: [{protocol: UDP, port: 53}, {port: http}]`),
	}
	golden(t, "course.golden", Compile("node1", c.pods, c.namespaces, policies).String())
}

func TestCompileOnlyThisNodesOwnPods(t *testing.T) {
	c := newCluster()
	everything := parsePolicy(t, "", "metadata: {name: all}\nspec: {podSelector: {}}")
	var policies []*networkingv1.NetworkPolicy
	for _, ns := range []string{"default", "blue", "kube-system"} {
		p := everything.DeepCopy()
		p.Namespace = ns
		policies = append(policies, p)
	}
	rs := Compile("node1", c.pods, c.namespaces, policies)
	var names []string
	for _, p := range rs.Pods {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	// Not testkurl or blue's pods (node2), not traefik (host network: its
	// address is the node's), not finished (its address may be reused).
	if want := []string{"default/testcurl", "default/testweb"}; !slices.Equal(names, want) {
		t.Errorf("isolated pods %v, want %v", names, want)
	}
}

func TestCompileIgnoresPolicyOrder(t *testing.T) {
	c := newCluster()
	a := parsePolicy(t, "default", allowTestcurlForTestweb)
	b := parsePolicy(t, "default", ingressToTestweb("from: [{namespaceSelector: {}}]\nports: [{port: 53, protocol: UDP}, {port: 80}]"))
	d := parsePolicy(t, "default", denyAllForTestweb)
	one := Compile("node1", c.pods, c.namespaces, []*networkingv1.NetworkPolicy{a, b, d}).String()
	slices.Reverse(c.pods)
	two := Compile("node1", c.pods, c.namespaces, []*networkingv1.NetworkPolicy{d, b, a}).String()
	if one != two {
		t.Errorf("order changed the ruleset:\n%s\nvs\n%s", one, two)
	}
}

func TestCompileReportsProblems(t *testing.T) {
	c := newCluster()
	rs := Compile("node1", c.pods, c.namespaces, []*networkingv1.NetworkPolicy{
		parsePolicy(t, "default", ingressToTestweb("from: [{ipBlock: {cidr: 10.0.0.0/33}}]")),
		parsePolicy(t, "default", ingressToTestweb("from: [{ipBlock: {cidr: 10.0.0.0/8, except: [nonsense]}}]")),
		parsePolicy(t, "default", ingressToTestweb("ports: [{port: 90, endPort: 80}]")),
	})
	got := strings.Join(rs.Problems, "\n")
	for _, want := range []string{"networkpolicy default/p: ipBlock", "ipBlock except", "endPort 80"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q lack %q", got, want)
		}
	}
	// Everything broken matches nothing: testweb stays isolated.
	checkFlows(t, rs, []flow{tcp(outside, testweb, 80, false), tcp(netip.MustParseAddr("10.1.2.3"), testweb, 85, false)})
}

func TestSubtract(t *testing.T) {
	tests := []struct {
		cidr    string
		excepts []string
		want    string
	}{
		{"10.0.0.0/24", nil, "10.0.0.0/24"},
		{"10.0.0.0/24", []string{"10.0.1.0/24"}, "10.0.0.0/24"},
		{"10.0.0.0/24", []string{"10.0.0.0/16"}, ""},
		{"10.0.0.0/24", []string{"10.0.0.128/25"}, "10.0.0.0/25"},
		{"10.0.0.0/30", []string{"10.0.0.1/32"}, "10.0.0.0/32 10.0.0.2/31"},
		{"4.42.6.0/24", []string{"4.42.6.5/32"},
			"4.42.6.0/30 4.42.6.4/32 4.42.6.6/31 4.42.6.8/29 4.42.6.16/28 4.42.6.32/27 4.42.6.64/26 4.42.6.128/25"},
		{"0.0.0.0/0", []string{"128.0.0.0/1"}, "0.0.0.0/1"},
		{"fd00::/126", []string{"fd00::3/128"}, "fd00::/127 fd00::2/128"},
		{"fd00::/127", []string{"10.0.0.0/8"}, "fd00::/127"},
	}
	for _, tc := range tests {
		var excepts []netip.Prefix
		for _, e := range tc.excepts {
			excepts = append(excepts, netip.MustParsePrefix(e))
		}
		if got := joinStrings(subtract(netip.MustParsePrefix(tc.cidr), excepts)); got != tc.want {
			t.Errorf("%s except %v = %q, want %q", tc.cidr, tc.excepts, got, tc.want)
		}
	}
}
