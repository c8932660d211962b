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
	"strings"

	"github.com/labctl/labctl/health/wire"
)

// Names shared with the netcheck add-on (see package wire).
const (
	Namespace   = wire.Namespace
	Name        = wire.Name
	Port        = wire.Port
	ServicePort = wire.ServicePort
	ServiceDNS  = wire.ServiceDNS
)

// Answer and Probe are the probe pod's report.
type (
	Answer = wire.Answer
	Probe  = wire.Probe
)

// nodeCommand is what one node runs: reach the netcheck Service's
// ClusterIP, then ask the node's own probe pod to check from inside the
// pod network. Two lines come back, each prefixed, whatever fails.
func nodeCommand(clusterIP, localPod string, peers, tcp []string) string {
	svc := fmt.Sprintf("http://%s:%d/ping", clusterIP, ServicePort)
	check := fmt.Sprintf("http://%s:%d%s", localPod, Port, wire.CheckPath(ServiceDNS, peers, tcp))
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
