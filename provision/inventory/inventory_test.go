package inventory

import (
	"context"
	"io"
	"testing"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
)

func TestProvisionKeepsPinsUnlessHostMoved(t *testing.T) {
	l, err := lab.Parse("lab.yaml", []byte("provider:\n  type: inventory\n  clusters:\n    - [{address: 203.0.113.1}, {address: 203.0.113.2, privateAddress: 10.0.0.2, port: 2222}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := &lab.State{}
	r := provision.Request{Lab: l, State: s, Out: io.Discard}
	if err := (Provider{}).Provision(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	c := s.Cluster(1)
	if c == nil || len(c.Nodes) != 2 || c.Nodes[1].Name != "node2" || c.Nodes[1].PrivateAddress != "10.0.0.2" || c.Nodes[1].Port != 2222 || c.Nodes[0].PrivateAddress != "203.0.113.1" {
		t.Fatalf("nodes: %+v", s.Clusters)
	}
	c.Nodes[0].HostKey, c.Nodes[1].HostKey = "ssh-ed25519 AAAA1", "ssh-ed25519 AAAA2"

	// Same hosts: the pins stay. node2 moved: its pin goes.
	l.Provider.Clusters[0][1].Address = "203.0.113.9"
	if err := (Provider{}).Provision(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if c.Nodes[0].HostKey != "ssh-ed25519 AAAA1" || c.Nodes[1].HostKey != "" || c.Nodes[1].PublicAddress != "203.0.113.9" {
		t.Fatalf("after re-provision: %+v", c.Nodes)
	}
}
