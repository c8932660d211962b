package local

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strings"

	"github.com/labctl/labctl/lab"
)

// A node keeps one address for its whole life: kubelet, etcd and the API
// server's certificate are bound to it, and podman hands out another
// address when a stopped container starts again (after a reboot of this
// machine, say). So each node gets a fixed address in its lab's network:
// cluster c, node n sits at offset (c-1)*MaxNodesPerCluster + n + 1, which
// leaves the gateway (offset 1) alone and never moves a node when the lab
// file's nodesPerCluster changes.

// NodeAddress is the fixed address of cluster c's node in subnet.
func NodeAddress(subnet string, c int, node string) (string, error) {
	_, ipnet, err := net.ParseCIDR(subnet)
	if err != nil {
		return "", fmt.Errorf("network subnet %q: %w", subnet, err)
	}
	base := ipnet.IP.To4()
	if base == nil {
		return "", fmt.Errorf("network subnet %s: only IPv4 subnets are supported", subnet)
	}
	var n int
	if _, err := fmt.Sscanf(node, "node%d", &n); err != nil || n < 1 || n > lab.MaxNodesPerCluster {
		return "", fmt.Errorf("node name %q is not node1 to node%d", node, lab.MaxNodesPerCluster)
	}
	offset := uint32((c-1)*lab.MaxNodesPerCluster + n + 1)
	ones, bits := ipnet.Mask.Size()
	if size := uint32(1) << (bits - ones); offset >= size-1 {
		return "", fmt.Errorf("provider.subnet: %s holds %d clusters (%d addresses each); cluster %d needs a larger one (a /20 holds 409)",
			subnet, (size-3)/lab.MaxNodesPerCluster, lab.MaxNodesPerCluster, c)
	}
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, binary.BigEndian.Uint32(base)+offset)
	return ip.String(), nil
}

// NodeMAC is the fixed MAC address that goes with a node's fixed address:
// a node that starts again with a new MAC would be unreachable until this
// machine's ARP cache forgets the old one. Locally administered ("02:"),
// then "6c" for labctl, then the four bytes of the IPv4 address.
func NodeMAC(addr string) (string, error) {
	ip := net.ParseIP(addr).To4()
	if ip == nil {
		return "", fmt.Errorf("node address %q is not IPv4", addr)
	}
	return fmt.Sprintf("02:6c:%02x:%02x:%02x:%02x", ip[0], ip[1], ip[2], ip[3]), nil
}

// NetworkSubnet is the IPv4 subnet of a podman network.
func (p *Podman) NetworkSubnet(ctx context.Context, name string) (string, error) {
	out, err := p.run(ctx, nil, "network", "inspect", name, "--format", "{{range .Subnets}}{{.Subnet}} {{end}}")
	if err != nil {
		return "", err
	}
	for _, s := range strings.Fields(string(out)) {
		if ip, _, err := net.ParseCIDR(s); err == nil && ip.To4() != nil {
			return s, nil
		}
	}
	return "", fmt.Errorf("network %s has no IPv4 subnet (podman says %q)", name, strings.TrimSpace(string(out)))
}
