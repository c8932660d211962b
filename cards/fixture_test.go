package cards

import (
	"fmt"
	"strings"
	"testing"

	"github.com/labctl/labctl/lab"
)

// testLab parses a lab file, so the tests see what viper makes of it
// (lowercased cards.text keys included).
func testLab(t *testing.T, yaml string) *lab.Lab {
	t.Helper()
	l, err := lab.Parse("lab.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	return l
}

// testState is a provisioned class with fixed passwords and addresses:
// cluster c, node n has 203.0.113.(100+(c-1)*nodes+n), always three digits
// in the last byte so no address is a prefix of another.
func testState(clusters, nodes int) *lab.State {
	s := &lab.State{Version: lab.StateVersion, Lab: "k8s-101"}
	k := 100
	for c := 1; c <= clusters; c++ {
		cl := lab.Cluster{Index: c, Login: lab.Login{User: "k8s", Password: testPassword(c)}}
		for n := 1; n <= nodes; n++ {
			k++
			cl.Nodes = append(cl.Nodes, lab.Node{
				Name:           fmt.Sprintf("node%d", n),
				PublicAddress:  fmt.Sprintf("203.0.113.%d", k),
				PrivateAddress: fmt.Sprintf("10.0.%d.%d", c, n),
				Port:           22,
			})
		}
		s.Clusters = append(s.Clusters, cl)
	}
	return s
}

func testPassword(c int) string {
	return fmt.Sprintf("mxr%02d-qbz%02d-tnh%02d", c, (c*37)%100, (c*53)%100)
}

func labYAML(extra string) string {
	return strings.TrimSpace(`
name: k8s-101
attendees: 23
nodesPerCluster: 4
provider: {type: local}
`) + "\n" + extra
}
