// Package health proves that a cluster can run the course, from the
// cluster itself: every kube-system pod Ready, DNS from a pod on every
// node, a ClusterIP answering from every node, pod to pod across nodes.
// "Nodes Ready" proves none of it. A small DaemonSet (labctl-netcheck, see
// addons/netcheck) puts a probe pod on every node; labctl asks each node,
// over SSH, to reach the ClusterIP and to have its local probe pod check
// DNS, the other nodes' probe pods and the API server's ClusterIP.
package health

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

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

// nodeCommand is what one node runs: reach the netcheck Service's
// ClusterIP, then ask the node's own probe pod to check from inside the
// pod network. Two lines come back, each prefixed, whatever fails.
func nodeCommand(clusterIP, localPod string, peers, tcp []string) string {
	svc := fmt.Sprintf("http://%s:%d/ping", clusterIP, ServicePort)
	check := fmt.Sprintf("http://%s:%d%s", localPod, Port, CheckPath(ServiceDNS, peers, tcp))
	return fmt.Sprintf(`printf 'clusterip: '; curl -sS --max-time 3 '%s' 2>&1 | head -c 300 | tr '\n' ' '; echo; `+
		`printf 'pod: '; curl -sS --max-time 12 '%s' 2>&1 | head -c 4000 | tr '\n' ' '; echo`, svc, check)
}

// parseNodeOutput reads nodeCommand's two lines.
func parseNodeOutput(out string) (clusterIP string, pod *Answer, podErr string) {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "clusterip: "); ok {
			clusterIP = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "pod: "); ok {
			var a Answer
			if err := json.Unmarshal([]byte(v), &a); err != nil {
				podErr = strings.TrimSpace(v)
				if podErr == "" {
					podErr = "no answer"
				}
				continue
			}
			pod = &a
		}
	}
	return clusterIP, pod, podErr
}
