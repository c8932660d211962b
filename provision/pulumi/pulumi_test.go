package pulumi

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/provision/pulumi/nodeprovider"
	"github.com/labctl/labctl/provision/pulumi/program"
)

func TestPluginBinaryName(t *testing.T) {
	if PluginBinary != nodeprovider.Binary {
		t.Fatalf("labctl links itself as %s, serves as %s", PluginBinary, nodeprovider.Binary)
	}
}

func TestAWSCredentials(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	none := func(string) bool { return false }
	if err := awsCredentials(env(map[string]string{"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S"}), none); err != nil {
		t.Errorf("keys in the environment: %v", err)
	}
	if err := awsCredentials(env(map[string]string{"HOME": "/h"}), func(p string) bool { return p == "/h/.aws/credentials" }); err != nil {
		t.Errorf("shared credentials file: %v", err)
	}
	err := awsCredentials(env(map[string]string{"HOME": "/h", "AWS_PROFILE": "class", "AWS_ACCESS_KEY_ID": "A"}), none)
	if err == nil {
		t.Fatal("no credentials accepted")
	}
	for _, want := range []string{"provider.pulumi.target aws", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", "AWS_PROFILE (now class)", "/h/.aws/credentials", "/h/.aws/config"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("not one line: %q", err)
	}
}

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

func TestRecordPinsAndForgets(t *testing.T) {
	st := &lab.State{Clusters: []lab.Cluster{
		{Index: 1, Nodes: []lab.Node{{Name: "node1", PublicAddress: "10.0.0.2", HostKey: "ssh-ed25519 OLD"}}},
		{Index: 2, Nodes: []lab.Node{{Name: "node1", PublicAddress: "10.0.0.12"}}},
	}}
	var out bytes.Buffer
	r := provision.Request{Lab: &lab.Lab{SSH: lab.SSHSpec{User: "root"}}, State: st, Out: &out}
	record(r, &program.Outputs{Contract: 1, Clusters: []program.Cluster{{Index: 1, Nodes: []program.Node{
		{Name: "node1", PublicAddress: "10.0.0.2", PrivateAddress: "10.0.0.2", Port: 22, User: "root", HostKey: "ssh-ed25519 NEW", ID: "c1"},
	}}}})
	if len(st.Clusters) != 1 || st.Clusters[0].Nodes[0].HostKey != "ssh-ed25519 NEW" {
		t.Errorf("state: %+v", st.Clusters)
	}
}

func TestDestroyOneClusterRefused(t *testing.T) {
	err := New().Destroy(t.Context(), provision.Request{Lab: &lab.Lab{Name: "x"}, Clusters: []int{2}})
	if err == nil || !strings.HasPrefix(err.Error(), "--cluster:") {
		t.Errorf("%v", err)
	}
}
