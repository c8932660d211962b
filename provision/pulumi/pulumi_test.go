package pulumi

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
)

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

func TestRecordPinsAndForgets(t *testing.T) {
	st := &lab.State{Clusters: []lab.Cluster{
		{Index: 1, Nodes: []lab.Node{{Name: "node1", PublicAddress: "10.0.0.2", HostKey: "ssh-ed25519 OLD"}}},
		{Index: 2, Nodes: []lab.Node{{Name: "node1", PublicAddress: "10.0.0.12"}}},
	}}
	var out bytes.Buffer
	r := provision.Request{Lab: &lab.Lab{SSH: lab.SSHSpec{User: "root"}}, State: st, Out: &out}
	record(r, []Cluster{{Index: 1, Nodes: []Node{{User: "root", Node: lab.Node{
		Name: "node1", PublicAddress: "10.0.0.2", PrivateAddress: "10.0.0.2", Port: 22, HostKey: "ssh-ed25519 NEW", ID: "c1"}}}}})
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

// The request carries the lab to labctl-pulumi as JSON: the lab it reads
// back is the lab labctl loaded, every field of it.
func TestRequestCarriesTheWholeLab(t *testing.T) {
	l, err := lab.Parse("lab.yaml", []byte("name: class\nattendees: 3\nnodesPerCluster: 2\n"+
		"provider:\n  type: pulumi\n  pulumi: {target: aws}\n  aws: {region: eu-west-3, allowFrom: [198.51.100.0/24]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(Request{Op: OpUp, Lab: l})
	if err != nil {
		t.Fatal(err)
	}
	var back Request
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Lab, l) {
		t.Errorf("the lab changed on its way:\n%+v\n%+v", back.Lab, l)
	}
	if back.Lab.Provider.AWS.Region != "eu-west-3" || back.Lab.Attendees != 3 {
		t.Errorf("%+v", back.Lab)
	}
}

// Through the real labctl-pulumi, built from this checkout: the request
// goes in as JSON, the helper's error comes back as labctl's error, and a
// link to the CLI is made as the Automation API wants it.
func TestHelperRoundTrip(t *testing.T) {
	if os.Getenv("LABCTL_E2E") == "" {
		t.Skip("builds labctl-pulumi (minutes from a cold build cache): set LABCTL_E2E=1")
	}
	state := t.TempDir()
	missing := filepath.Join(t.TempDir(), "pulumi")
	p := &Provider{CLI: func(context.Context, provision.Request) (string, error) { return missing, nil }}
	var out bytes.Buffer
	r := provision.Request{Lab: &lab.Lab{Name: "class"}, StateDir: state, State: &lab.State{}, Out: &out}
	err := p.Destroy(t.Context(), r)
	want := "pulumi CLI " + filepath.Join(state, "pulumi", "cli", "bin", "pulumi") + ":"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("Destroy: %v, want an error starting %q", err, want)
	}
	if target, _ := os.Readlink(filepath.Join(state, "pulumi", "cli", "bin", "pulumi")); target != missing {
		t.Errorf("cli link points at %q", target)
	}
}
