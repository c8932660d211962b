package kubeadm

import (
	"strings"
	"testing"

	"github.com/labctl/labctl/lab"
)

func TestBridgeScriptRoutes(t *testing.T) {
	c := &lab.Cluster{Index: 1, Nodes: []lab.Node{{Name: "node1", PrivateAddress: "10.0.0.2"}, {Name: "node2", PrivateAddress: "10.0.0.3"}}}
	s, err := BridgeScript("node1", c, map[string]string{"node1": "10.244.0.0/24", "node2": "10.244.1.0/24"}, "10.244.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"subnet": "10.244.0.0/24"`, "ip route replace 10.244.1.0/24 via 10.0.0.3\n", "-s 10.244.0.0/16 ! -d 10.244.0.0/16"} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in\n%s", want, s)
		}
	}
}
