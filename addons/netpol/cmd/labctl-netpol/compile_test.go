package main

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
)

// The deck's two policies, verbatim (000 deck, network-policy chapter).
const (
	denyAllForTestweb = `
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata:
  name: deny-all-for-testweb
spec:
  podSelector:
    matchLabels:
      run: testweb
  ingress: []
`
	allowTestcurlForTestweb = `
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata:
  name: allow-testcurl-for-testweb
spec:
  podSelector:
    matchLabels:
      run: testweb
  ingress:
  - from:
    - podSelector:
        matchLabels:
          run: testcurl
`
)

// ingressToTestweb builds a policy on testweb with one ingress rule.
func ingressToTestweb(rule string) string {
	return "metadata: {name: p}\nspec:\n  podSelector: {matchLabels: {run: testweb}}\n  ingress:\n  - " +
		strings.ReplaceAll(strings.TrimSpace(rule), "\n", "\n    ") + "\n"
}

func TestCompileSemantics(t *testing.T) {
	tests := []struct {
		name     string
		policies []string // YAML in namespace default unless they say otherwise
		flows    []flow
	}{
		{"no policy allows everything", nil, []flow{
			tcp(testcurl, testweb, 80, true), tcp(testkurl, testweb, 80, true), tcp(outside, testcurl, 1, true),
		}},
		{"course: deny all for testweb", []string{denyAllForTestweb}, []flow{
			tcp(testcurl, testweb, 80, false), tcp(testkurl, testweb, 80, false), udp(testkurl, testweb, 53, false),
			tcp(outside, testweb, 80, false),
			// testweb is isolated for ingress only: it still connects out,
			// and other pods are untouched.
			tcp(testweb, testcurl, 80, true), tcp(testweb, outside, 443, true), tcp(testkurl, testcurl, 80, true),
		}},
		{"course: deny all, then allow from run=testcurl", []string{denyAllForTestweb, allowTestcurlForTestweb}, []flow{
			tcp(testcurl, testweb, 80, true), tcp(testcurl, testweb, 8080, true), udp(testcurl, testweb, 53, true),
			tcp(testkurl, testweb, 80, false),
			// a podSelector alone means the policy's namespace only.
			tcp(bluecurl, testweb, 80, false),
			// host-network and finished pods are never peers.
			tcp(node1, testweb, 80, false), tcp(finished, testweb, 80, false),
		}},
		{"namespaceSelector alone: every pod of those namespaces", []string{ingressToTestweb(`
from:
- namespaceSelector: {matchLabels: {team: blue}}`)}, []flow{
			tcp(bluecurl, testweb, 80, true), tcp(blueweb, testweb, 80, true), tcp(testcurl, testweb, 80, false),
		}},
		{"namespaceSelector by name label", []string{ingressToTestweb(`
from:
- namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: default}}`)}, []flow{
			tcp(testcurl, testweb, 80, true), tcp(testkurl, testweb, 80, true), tcp(bluecurl, testweb, 80, false),
		}},
		{"namespaceSelector and podSelector in one peer: both must match", []string{ingressToTestweb(`
from:
- namespaceSelector: {matchLabels: {team: blue}}
  podSelector: {matchLabels: {run: testcurl}}`)}, []flow{
			tcp(bluecurl, testweb, 80, true), tcp(blueweb, testweb, 80, false), tcp(testcurl, testweb, 80, false),
		}},
		{"two peers: either matches", []string{ingressToTestweb(`
from:
- namespaceSelector: {matchLabels: {team: blue}}
- podSelector: {matchLabels: {run: testcurl}}`)}, []flow{
			tcp(bluecurl, testweb, 80, true), tcp(blueweb, testweb, 80, true), tcp(testcurl, testweb, 80, true),
			tcp(testkurl, testweb, 80, false),
		}},
		{"matchExpressions", []string{ingressToTestweb(`
from:
- podSelector: {matchExpressions: [{key: run, operator: In, values: [testkurl, other]}]}`)}, []flow{
			tcp(testkurl, testweb, 80, true), tcp(testcurl, testweb, 80, false),
		}},
		{"ipBlock with except", []string{ingressToTestweb(`
from:
- ipBlock: {cidr: 10.244.2.0/24, except: [10.244.2.4/32]}`)}, []flow{
			tcp(bluecurl, testweb, 80, true), tcp(blueweb, testweb, 80, true), tcp(testkurl, testweb, 80, false),
			tcp(testcurl, testweb, 80, false), tcp(outside, testweb, 80, false),
		}},
		{"ipBlock everything except the pod network", []string{ingressToTestweb(`
from:
- ipBlock: {cidr: 0.0.0.0/0, except: [10.244.0.0/16]}`)}, []flow{
			tcp(outside, testweb, 80, true), tcp(node1, testweb, 80, true), tcp(testcurl, testweb, 80, false),
		}},
		{"numeric port, default protocol TCP", []string{ingressToTestweb(`
ports: [{port: 80}]`)}, []flow{
			tcp(testkurl, testweb, 80, true), tcp(outside, testweb, 80, true), tcp(testkurl, testweb, 81, false),
			udp(testkurl, testweb, 80, false),
		}},
		{"port range with endPort, and UDP", []string{ingressToTestweb(`
ports: [{port: 8000, endPort: 8080}, {protocol: UDP, port: 53}]`)}, []flow{
			tcp(testkurl, testweb, 8000, true), tcp(testkurl, testweb, 8080, true), tcp(testkurl, testweb, 8081, false),
			tcp(testkurl, testweb, 7999, false), udp(testkurl, testweb, 53, true), tcp(testkurl, testweb, 53, false),
		}},
		{"protocol without port: every port of it", []string{ingressToTestweb(`
ports: [{protocol: SCTP}]`)}, []flow{
			{testkurl, testweb, "SCTP", 9, true}, {testkurl, testweb, "SCTP", 65535, true}, tcp(testkurl, testweb, 9, false),
		}},
		{"named ports resolve on the target pod, with their protocol", []string{ingressToTestweb(`
ports: [{port: http}, {port: dns, protocol: UDP}, {port: dns}]`)}, []flow{
			tcp(testkurl, testweb, 80, true), udp(testkurl, testweb, 53, true),
			// "dns" is declared for UDP only: the TCP entry matches nothing.
			tcp(testkurl, testweb, 53, false), tcp(testkurl, testweb, 8080, false),
		}},
		{"a named port the target does not declare matches nothing", []string{ingressToTestweb(`
ports: [{port: metrics}]`)}, []flow{
			tcp(testkurl, testweb, 80, false), tcp(testkurl, testweb, 9100, false),
		}},
		{"peers and ports together", []string{ingressToTestweb(`
from: [{podSelector: {matchLabels: {run: testcurl}}}]
ports: [{port: 80}]`)}, []flow{
			tcp(testcurl, testweb, 80, true), tcp(testcurl, testweb, 81, false), tcp(testkurl, testweb, 80, false),
		}},
		{"egress deny all", []string{`
metadata: {name: p}
spec:
  podSelector: {matchLabels: {run: testcurl}}
  policyTypes: [Egress]`}, []flow{
			tcp(testcurl, testweb, 80, false), tcp(testcurl, outside, 443, false), tcp(testcurl, node1, 6443, false),
			// ingress is not isolated by an Egress-only policy.
			tcp(testweb, testcurl, 80, true), tcp(testkurl, testcurl, 80, true),
		}},
		{"egress to DNS pods and one CIDR", []string{`
metadata: {name: p}
spec:
  podSelector: {matchLabels: {run: testcurl}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {run: testweb}}}]
    ports: [{protocol: UDP, port: 53}]
  - to: [{ipBlock: {cidr: 192.0.2.0/24}}]`}, []flow{
			udp(testcurl, testweb, 53, true), tcp(testcurl, testweb, 53, false), udp(testcurl, testkurl, 53, false),
			tcp(testcurl, outside, 443, true), tcp(testcurl, node1, 6443, false),
		}},
		{"egress named port resolves on each destination pod", []string{`
metadata: {name: p}
spec:
  podSelector: {matchLabels: {run: testcurl}}
  egress:
  - ports: [{port: http}]`}, []flow{
			tcp(testcurl, testweb, 80, true), tcp(testcurl, blueweb, 8080, true),
			tcp(testcurl, blueweb, 80, false), tcp(testcurl, testkurl, 80, false), tcp(testcurl, outside, 80, false),
			// policyTypes defaulted to Ingress and Egress: no ingress rule.
			tcp(testweb, testcurl, 80, false),
		}},
		{"explicit Ingress type ignores egress rules", []string{`
metadata: {name: p}
spec:
  podSelector: {matchLabels: {run: testcurl}}
  policyTypes: [Ingress]
  egress: [{to: [{ipBlock: {cidr: 192.0.2.0/24}}]}]`}, []flow{
			tcp(testcurl, testweb, 80, true), tcp(testweb, testcurl, 80, false),
		}},
		{"course: dockercoins-style namespace isolation", []string{`
metadata: {name: deny-from-other-namespaces}
spec:
  podSelector: {}
  ingress: [{from: [{podSelector: {}}]}]`, `
metadata: {name: allow-webui}
spec:
  podSelector: {matchLabels: {run: testweb}}
  ingress: [{from: []}]`}, []flow{
			tcp(testkurl, testcurl, 80, true), tcp(bluecurl, testcurl, 80, false), tcp(outside, testcurl, 80, false),
			tcp(bluecurl, testweb, 80, true), tcp(outside, testweb, 80, true),
		}},
		{"a policy of another namespace does not select our pods", []string{`
metadata: {name: p, namespace: blue}
spec:
  podSelector: {}`}, []flow{
			tcp(testkurl, testweb, 80, true), tcp(testkurl, testcurl, 80, true),
		}},
		{"an invalid selector selects nothing", []string{ingressToTestweb(`
from: [{podSelector: {matchExpressions: [{key: run, operator: Bogus}]}}]`)}, []flow{
			tcp(testcurl, testweb, 80, false), tcp(testkurl, testweb, 80, false),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster()
			var policies []*networkingv1.NetworkPolicy
			for _, text := range tc.policies {
				policies = append(policies, parsePolicy(t, "default", text))
			}
			checkFlows(t, Compile("node1", c.pods, c.namespaces, policies), tc.flows)
		})
	}
}
