package lab

import (
	"strings"
	"testing"
)

func TestUserNS(t *testing.T) {
	l, err := Parse("lab.yaml", []byte("provider: {type: local, userns: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !l.Provider.UserNS || l.Nodes.PortworxSize != "0" {
		t.Fatalf("userns %v, portworxSize %q: want true and \"0\" (no loop device in a user namespace)", l.Provider.UserNS, l.Nodes.PortworxSize)
	}
	if l, _ := Parse("lab.yaml", []byte("name: x\n")); l.Provider.UserNS || l.Nodes.PortworxSize != "10G" {
		t.Fatal("userns must be off, and portworxSize 10G, by default")
	}
	for src, want := range map[string]string{
		"provider: {type: local, userns: true}\nnodes: {portworxSize: 10G}\n":           `nodes.portworxSize: "10G": a node in a user namespace (provider.userns) cannot attach a loop device`,
		"provider: {type: kind, userns: true}\nnodesPerCluster: 1\n":                    "provider.userns: only the local provider's nodes run in a user namespace, not kind's",
		"provider: {type: pulumi, pulumi: {target: local}, userns: true}\n":             "provider.userns: only the local provider's nodes run in a user namespace, not pulumi's",
		"provider: {type: local, userns: yes please}\n":                                 "provider.userns",
		"provider: {type: inventory, userns: true, clusters: [[{address: 1.2.3.4}]]}\n": "not inventory's",
	} {
		_, err := Parse("lab.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: got %v, want one line containing %q", src, err, want)
		}
	}
}
