package kubeadm

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// network installs the cluster's pod network. "bridge" works offline: each
// node bridges its own pod range (the podCIDR the controller manager gave
// it) and routes the others' ranges to their nodes. Weave, the course's
// CNI, is an add-on (cniAddon): the addons phase installs it, and this
// step leaves the nodes' CNI configuration to it.
func (p *Phase) network(ctx context.Context, c *lab.Cluster) error {
	switch p.Lab.Kubernetes.CNI {
	case "bridge":
		return p.bridge(ctx, c)
	case "none", "weave":
		return nil
	}
	x1 := p.Target(c.Index, "node1")
	return phase.Fail(x1.NodeRef, "network", fmt.Errorf("kubernetes.cni: %s is not a CNI this version installs", p.Lab.Kubernetes.CNI))
}

// cniAddon says whether the addons phase installs the pod network.
func (p *Phase) cniAddon() bool { return p.Lab != nil && p.Lab.Kubernetes.CNI == "weave" }

func (p *Phase) bridge(ctx context.Context, c *lab.Cluster) error {
	x1 := p.Target(c.Index, "node1")
	cidrs, err := p.podCIDRs(ctx, c, x1)
	if err != nil {
		return err
	}
	var xs []phase.Target
	for _, n := range c.Nodes {
		xs = append(xs, p.Target(c.Index, n.Name))
	}
	return phase.Each(ctx, xs, len(xs), func(ctx context.Context, x phase.Target) error {
		script, err := BridgeScript(x.Node, c, cidrs, p.Lab.Kubernetes.PodSubnet)
		if err != nil {
			return phase.Fail(x.NodeRef, "network", err)
		}
		_, err = p.step(ctx, x, "network", remote.Command{Line: "bash -euo pipefail -s", Stdin: strings.NewReader(script)})
		return err
	})
}

// podCIDRs waits until every node has its pod range (the controller
// manager gives each one as it registers) and returns them.
func (p *Phase) podCIDRs(ctx context.Context, c *lab.Cluster, x1 phase.Target) (map[string]string, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		// An API error is retried until the deadline, like a missing range.
		nodes, err := p.nodes(ctx, c)
		cidrs := map[string]string{}
		var missing []string
		for _, n := range c.Nodes {
			if nd := nodes[n.Name]; nd != nil && nd.Spec.PodCIDR != "" {
				cidrs[n.Name] = nd.Spec.PodCIDR
			} else {
				missing = append(missing, n.Name)
			}
		}
		if err == nil && len(missing) == 0 {
			return cidrs, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return nil, phase.Fail(x1.NodeRef, "network", fmt.Errorf("no pod ranges after 2m: %w", err))
			}
			return nil, phase.Fail(x1.NodeRef, "network", fmt.Errorf("no pod range (spec.podCIDR) after 2m on %s", strings.Join(missing, ", ")))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// BridgeScript configures the bridge CNI on node self and the routes to
// the other nodes' pod ranges, persistently (a unit re-applies the routes
// at boot). Every address goes into the script in its canonical form, so
// only digits, letters, ".", ":" and "/" reach the shell.
func BridgeScript(self string, c *lab.Cluster, cidrs map[string]string, clusterCIDR string) (string, error) {
	var routes strings.Builder
	for _, n := range c.Nodes {
		if n.Name != self {
			pods, err := canonicalCIDR(cidrs[n.Name])
			if err != nil {
				return "", fmt.Errorf("%s's pod range: %w", n.Name, err)
			}
			via := net.ParseIP(n.PrivateAddress)
			if via == nil {
				return "", fmt.Errorf("%s's private address: %q is not an IP address", n.Name, n.PrivateAddress)
			}
			fmt.Fprintf(&routes, "ip route replace %s via %s\n", pods, via)
		}
	}
	own, err := canonicalCIDR(cidrs[self])
	if err != nil {
		return "", fmt.Errorf("%s's pod range: %w", self, err)
	}
	all, err := canonicalCIDR(clusterCIDR)
	if err != nil {
		return "", fmt.Errorf("kubernetes.podSubnet: %w", err)
	}
	return fmt.Sprintf(`mkdir -p /etc/cni/net.d
cat > /etc/cni/net.d/10-labctl-bridge.conflist <<'CNI'
{
  "cniVersion": "0.4.0",
  "name": "labctl-bridge",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": "%[1]s"}]], "routes": [{"dst": "0.0.0.0/0"}]}
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
CNI
cat > /usr/local/sbin/labctl-pod-routes <<'ROUTES'
#!/bin/sh
set -e
%[2]s# Pods reach the outside through their node, but keep their address
# when talking to pods on other nodes.
iptables -t nat -C POSTROUTING -s %[3]s ! -d %[3]s -j MASQUERADE 2>/dev/null ||
  iptables -t nat -A POSTROUTING -s %[3]s ! -d %[3]s -j MASQUERADE
ROUTES
chmod 0755 /usr/local/sbin/labctl-pod-routes
cat > /etc/systemd/system/labctl-pod-routes.service <<'UNIT'
[Unit]
Description=Routes to the pod ranges of the other nodes
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/labctl-pod-routes

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable labctl-pod-routes.service
/usr/local/sbin/labctl-pod-routes
`, own, routes.String(), all), nil
}

// canonicalCIDR is s as net.IPNet prints it.
func canonicalCIDR(s string) (string, error) {
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a CIDR", s)
	}
	n.IP = ip // keep a host address as given (10.244.1.0/24, not only the network)
	return n.String(), nil
}
