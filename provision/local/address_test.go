package local

import (
	"strings"
	"testing"
)

func TestNodeAddressIsFixedAndFits(t *testing.T) {
	for _, tc := range []struct {
		subnet string
		c      int
		node   string
		want   string
	}{
		{"10.89.0.0/24", 1, "node1", "10.89.0.2"}, // .1 is the gateway
		{"10.89.0.0/24", 1, "node4", "10.89.0.5"},
		{"10.89.0.0/24", 2, "node1", "10.89.0.12"}, // the same whatever nodesPerCluster is
		{"10.89.0.0/24", 25, "node10", "10.89.0.251"},
		{"10.90.0.0/20", 26, "node1", "10.90.0.252"},
		{"10.90.0.0/20", 100, "node3", "10.90.3.226"}, // crosses a byte
	} {
		got, err := NodeAddress(tc.subnet, tc.c, tc.node)
		if err != nil || got != tc.want {
			t.Errorf("NodeAddress(%s, %d, %s) = %q, %v; want %s", tc.subnet, tc.c, tc.node, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		subnet string
		c      int
		node   string
		want   string
	}{
		{"10.89.0.0/24", 26, "node10", "provider.subnet: 10.89.0.0/24 holds 25 clusters (10 addresses each); cluster 26 needs a larger one"},
		{"10.89.0.0/24", 1, "node11", `node name "node11" is not node1 to node10`},
		{"fd00::/64", 1, "node1", "only IPv4"},
		{"nonsense", 1, "node1", `network subnet "nonsense"`},
	} {
		if _, err := NodeAddress(tc.subnet, tc.c, tc.node); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NodeAddress(%s, %d, %s): err %v, want %q", tc.subnet, tc.c, tc.node, err, tc.want)
		}
	}
}

func TestNodeMACFollowsTheAddress(t *testing.T) {
	if got, err := NodeMAC("10.89.0.12"); err != nil || got != "02:6c:0a:59:00:0c" {
		t.Errorf("NodeMAC = %q, %v", got, err)
	}
	if _, err := NodeMAC("fd00::2"); err == nil {
		t.Error("an IPv6 address got a MAC")
	}
}
