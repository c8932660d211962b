package stack

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPassphraseIsKept(t *testing.T) {
	p := filepath.Join(t.TempDir(), "passphrase")
	a, err := passphrase(p)
	if err != nil || len(a) < 30 {
		t.Fatalf("%q, %v", a, err)
	}
	b, err := passphrase(p)
	if err != nil || a != b {
		t.Fatalf("second read %q, %v; want %q", b, err, a)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
}

func TestSummary(t *testing.T) {
	same := map[string]int{"same": 4}
	if got := summary(&same); got != "no changes (4 unchanged)" {
		t.Errorf("%q", got)
	}
	some := map[string]int{"create": 2, "same": 3, "delete": 1}
	if got := summary(&some); got != "1 deleted, 2 created, 3 unchanged" {
		t.Errorf("%q", got)
	}
}

func TestResourceName(t *testing.T) {
	if got := resourceName("labctl:local:Node", "urn:pulumi:lab::labctl::labctl:local:Node::c01-node2"); got != "labctl:local:Node c01-node2" {
		t.Errorf("%q", got)
	}
}

// labctl stop --cluster 2 targets exactly cluster 2's InstanceState
// resources, by the URNs the engine gives them.
func TestPowerTargets(t *testing.T) {
	got := powerTargets("k8s-101", []int{2}, 2)
	want := []string{
		"urn:pulumi:k8s-101::labctl::aws:ec2transitgateway/instanceState:InstanceState::c02-node1",
		"urn:pulumi:k8s-101::labctl::aws:ec2transitgateway/instanceState:InstanceState::c02-node2",
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("%v", got)
	}
}
