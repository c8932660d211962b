// Package wire is what the netcheck probe pod and labctl's health checks
// say to each other. It imports nothing of ours, so the probe pod's binary
// stays small.
package wire

import "net/url"

// Names shared by the netcheck add-on and the checks.
const (
	Namespace = "labctl-system"
	Name      = "labctl-netcheck"
	// Port is the probe pods' port; ServicePort the Service's.
	Port        = 8080
	ServicePort = 80
	// ServiceDNS is what a pod resolves to prove DNS works.
	ServiceDNS = Name + "." + Namespace + ".svc.cluster.local"
)

// Answer is what a probe pod reports from /check.
type Answer struct {
	Node  string  `json:"node"`
	DNS   Probe   `json:"dns"`
	Peers []Probe `json:"peers"`
	TCP   []Probe `json:"tcp"`
}

// Probe is one check made from the pod: its target, whether it worked,
// and what it saw (an answer or an error).
type Probe struct {
	Target string `json:"target"`
	OK     bool   `json:"ok"`
	Saw    string `json:"saw"`
}

// CheckPath is the probe pod's /check request for the given peers
// ("IP:PORT", answered by /ping) and TCP targets ("IP:PORT", connected to).
func CheckPath(dns string, peers, tcp []string) string {
	q := url.Values{"dns": {dns}}
	for _, p := range peers {
		q.Add("peer", p)
	}
	for _, t := range tcp {
		q.Add("tcp", t)
	}
	return "/check?" + q.Encode()
}
