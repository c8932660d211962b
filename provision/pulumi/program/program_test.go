package program

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/labctl/labctl/internal/golden"
	"github.com/labctl/labctl/lab"
)

// registered is one resource the program asked for.
type registered struct {
	Type   string         `json:"type"`
	Name   string         `json:"name"`
	Inputs map[string]any `json:"inputs"`
}

// mocks answers the program's resources and lookups with fixed values.
type mocks struct {
	mu        sync.Mutex
	resources []registered
}

func (m *mocks) NewResource(a pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resources = append(m.resources, registered{Type: a.TypeToken, Name: a.Name, Inputs: plainMap(a.Inputs)})
	out := a.Inputs.Copy()
	id := a.Name + "-id"
	switch a.TypeToken {
	case "tls:index/privateKey:PrivateKey":
		out["privateKeyOpenssh"] = resource.MakeSecret(resource.NewStringProperty(
			"-----BEGIN OPENSSH PRIVATE KEY-----\nFAKE-" + a.Name + "\n-----END OPENSSH PRIVATE KEY-----\n"))
		out["publicKeyOpenssh"] = resource.NewStringProperty("ssh-ed25519 AAAAFAKE-" + a.Name + "\n")
	case "aws:ec2/instance:Instance":
		id = "i-" + a.Name
		out["publicIp"] = resource.NewStringProperty("203.0.113." + hostPart(a.Name))
		out["privateIp"] = resource.NewStringProperty("10.0.0." + hostPart(a.Name))
	case "aws:ec2/eip:Eip":
		id = "eipalloc-" + a.Name
		out["publicIp"] = resource.NewStringProperty("198.51.100." + hostPart(a.Name))
	case LocalNetworkType:
		out["name"] = resource.NewStringProperty("labctl-" + a.Name)
		out["cidr"] = resource.NewStringProperty("10.89.7.0/24")
	case LocalNodeType:
		id = "labctl-" + a.Name
		out["container"] = resource.NewStringProperty(id)
		out["address"] = resource.NewStringProperty("10.89.7." + hostPart(a.Name))
		out["hostKey"] = resource.NewStringProperty("ssh-ed25519 AAAALOCAL-" + a.Name)
	}
	return id, out, nil
}

// hostPart is a fixed address byte per node name ("c02-node3" -> 23), so
// the golden files do not depend on the order resources register in.
func hostPart(name string) string {
	var c, n int
	fmt.Sscanf(name, "c%d-node%d", &c, &n)
	return fmt.Sprint(c*10 + n)
}

func (m *mocks) Call(a pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch a.Token {
	case "aws:ec2/getAmi:getAmi":
		return resource.NewPropertyMapFromMap(map[string]any{"id": "ami-0ubuntu", "name": "ubuntu-noble"}), nil
	case "aws:ec2/getVpc:getVpc":
		return resource.NewPropertyMapFromMap(map[string]any{"id": "vpc-default"}), nil
	case "aws:ec2/getSubnets:getSubnets":
		return resource.NewPropertyMapFromMap(map[string]any{"id": "x", "ids": []any{"subnet-b", "subnet-a"}}), nil
	}
	return nil, fmt.Errorf("unexpected call %s", a.Token)
}

// plain turns property values into JSON-able ones, secrets marked.
func plain(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return map[string]any{"secret": plain(v.SecretValue().Element)}
	case v.IsOutput():
		return plain(v.OutputValue().Element)
	case v.IsComputed():
		return "<computed>"
	case v.IsArray():
		var out []any
		for _, e := range v.ArrayValue() {
			out = append(out, plain(e))
		}
		return out
	case v.IsObject():
		return plainMap(v.ObjectValue())
	}
	return v.V
}

func plainMap(m resource.PropertyMap) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[string(k)] = plain(v)
	}
	return out
}

// run runs the program under mocks and returns what it registered and the
// contract it exported.
func run(t *testing.T, s Spec) (*mocks, *Outputs) {
	t.Helper()
	m := &mocks{}
	var got any
	var wg sync.WaitGroup
	wg.Add(1)
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		clusters, err := build(ctx, s)
		if err != nil {
			wg.Done()
			return err
		}
		clusters.ToArrayOutput().ApplyT(func(v []any) error {
			got = v
			wg.Done()
			return nil
		})
		return nil
	}, pulumi.WithMocks("labctl", s.Lab, m))
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	o, err := ParseOutputs(map[string]any{"contract": ContractVersion, "clusters": got})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(m.resources, func(i, j int) bool {
		a, b := m.resources[i], m.resources[j]
		return a.Type+" "+a.Name < b.Type+" "+b.Name
	})
	return m, o
}

func awsSpec(attendees, nodes int) Spec {
	return Spec{
		Lab: "k8s-101", Attendees: attendees, NodesPerCluster: nodes, Target: "aws", User: "root",
		AuthorizedKey: "ssh-ed25519 AAAALABCTL labctl",
		AWS:           lab.AWSSpec{Region: "eu-west-3", InstanceType: "t3.medium", DiskSize: 30, VPC: "default", AllowFrom: []string{"198.51.100.0/24"}},
	}
}

func count(m *mocks) map[string]int {
	c := map[string]int{}
	for _, r := range m.resources {
		c[r.Type]++
	}
	return c
}

func TestAWSResourceCounts(t *testing.T) {
	m, o := run(t, awsSpec(3, 4))
	want := map[string]int{
		"pulumi:providers:aws":                1,
		"aws:ec2/securityGroup:SecurityGroup": 1,
		"aws:ec2/keyPair:KeyPair":             1,
		"tls:index/privateKey:PrivateKey":     12,
		"aws:ec2/instance:Instance":           12,
		"aws:ec2/eip:Eip":                     12,
		InstanceStateType:                     12,
	}
	got := count(m)
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d resources, want %d", k, got[k], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("resource types: %v, want %v", got, want)
	}
	if len(o.Clusters) != 3 {
		t.Fatalf("%d clusters in the outputs, want 3", len(o.Clusters))
	}
	for i, c := range o.Clusters {
		if c.Index != i+1 || len(c.Nodes) != 4 || c.Nodes[0].Name != "node1" || c.Nodes[3].Name != "node4" {
			t.Errorf("cluster %d: %+v", i+1, c)
		}
		for _, n := range c.Nodes {
			want := fmt.Sprintf("ssh-ed25519 AAAAFAKE-c%02d-%s-host-key", c.Index, n.Name)
			if n.HostKey != want || n.Port != 22 || n.User != "root" || !strings.HasPrefix(n.ID, "i-") || !strings.HasPrefix(n.PublicAddress, "198.51.100.") {
				t.Errorf("cluster %d %s: %+v (host key want %q)", c.Index, n.Name, n, want)
			}
		}
	}
}

func TestAWSNewVPC(t *testing.T) {
	s := awsSpec(1, 1)
	s.AWS.VPC = "new"
	m, _ := run(t, s)
	got := count(m)
	for _, k := range []string{"aws:ec2/vpc:Vpc", "aws:ec2/internetGateway:InternetGateway", "aws:ec2/subnet:Subnet",
		"aws:ec2/routeTable:RouteTable", "aws:ec2/routeTableAssociation:RouteTableAssociation"} {
		if got[k] != 1 {
			t.Errorf("%s: %d, want 1", k, got[k])
		}
	}
}

func TestAWSSecurityGroupAndTags(t *testing.T) {
	m, _ := run(t, awsSpec(1, 2))
	for _, r := range m.resources {
		switch r.Type {
		case "aws:ec2/securityGroup:SecurityGroup":
			rules := map[string]string{}
			for _, x := range r.Inputs["ingress"].([]any) {
				rule := x.(map[string]any)
				from := fmt.Sprint(rule["cidrBlocks"])
				if rule["self"] == true {
					from = "self"
				}
				rules[rule["description"].(string)] = fmt.Sprintf("%v %v-%v from %s", rule["protocol"], rule["fromPort"], rule["toPort"], from)
			}
			want := map[string]string{
				"SSH":                     "tcp 22-22 from [198.51.100.0/24]",
				"between the lab's nodes": "-1 0-0 from self",
				"NodePorts":               "tcp 30000-32767 from [0.0.0.0/0]",
				"HTTP":                    "tcp 80-80 from [0.0.0.0/0]",
				"HTTPS":                   "tcp 443-443 from [0.0.0.0/0]",
			}
			for k, v := range want {
				if rules[k] != v {
					t.Errorf("ingress %q: %q, want %q", k, rules[k], v)
				}
			}
			if len(rules) != len(want) {
				t.Errorf("ingress rules: %v", rules)
			}
		case "aws:ec2/instance:Instance":
			tags := r.Inputs["tags"].(map[string]any)
			if tags[TagLab] != "k8s-101" || tags[TagCluster] != "1" || tags[TagAttendee] != "1" || tags[TagNode] == nil || tags["Name"] == nil {
				t.Errorf("%s tags: %v", r.Name, tags)
			}
			if r.Inputs["subnetId"] != "subnet-a" || r.Inputs["ami"] != "ami-0ubuntu" || r.Inputs["instanceType"] != "t3.medium" {
				t.Errorf("%s: %v", r.Name, r.Inputs)
			}
			ud, ok := r.Inputs["userData"].(map[string]any)
			if !ok {
				t.Fatalf("%s: user data is not a secret: %v", r.Name, r.Inputs["userData"])
			}
			s := ud["secret"].(string)
			if !strings.Contains(s, "FAKE-"+r.Name+"-host-key") || !strings.Contains(s, "ed25519_public: ssh-ed25519 AAAAFAKE-"+r.Name+"-host-key") ||
				!strings.Contains(s, "ssh-ed25519 AAAALABCTL labctl") {
				t.Errorf("%s: cloud-init does not carry its host key and labctl's key:\n%s", r.Name, s)
			}
		}
	}
}

func TestArmImage(t *testing.T) {
	for it, want := range map[string]string{"t3.medium": "amd64", "t4g.large": "arm64", "c7gn.xlarge": "arm64", "m7i.large": "amd64", "g5.xlarge": "amd64"} {
		if got := amiArch(it); got != want {
			t.Errorf("amiArch(%s) = %s, want %s", it, got, want)
		}
	}
}

func TestLocalTarget(t *testing.T) {
	s := Spec{Lab: "i11-local", Attendees: 2, NodesPerCluster: 2, Target: "local", User: "root",
		AuthorizedKey: "ssh-ed25519 AAAALABCTL labctl", Local: LocalSpec{Image: "localhost/labctl-node:abc"}}
	m, o := run(t, s)
	got := count(m)
	if got[LocalNetworkType] != 1 || got[LocalNodeType] != 4 || len(got) != 2 {
		t.Errorf("resources: %v", got)
	}
	if len(o.Clusters) != 2 || o.Clusters[1].Nodes[1].ID != "labctl-c02-node2" || o.Clusters[1].Nodes[1].HostKey != "ssh-ed25519 AAAALOCAL-c02-node2" {
		t.Errorf("outputs: %+v", o)
	}
	checkGolden(t, "local-1x2.json", mustJSON(t, m.resources[:3]))
}

func TestAWSGolden(t *testing.T) {
	m, o := run(t, awsSpec(1, 2))
	checkGolden(t, "aws-1x2.json", mustJSON(t, m.resources))
	checkGolden(t, "aws-1x2-outputs.json", mustJSON(t, o))
	for _, r := range m.resources {
		if r.Name == "c01-node1" && r.Type == "aws:ec2/instance:Instance" {
			checkGolden(t, "cloud-init-c01-node1.yaml", []byte(r.Inputs["userData"].(map[string]any)["secret"].(string)))
		}
	}
}

func TestBadSpec(t *testing.T) {
	for _, tc := range []struct {
		mut  func(*Spec)
		want string
	}{
		{func(s *Spec) { s.Target = "gcp" }, "provider.pulumi.target"},
		{func(s *Spec) { s.AuthorizedKey = "" }, "ssh.identityFile"},
		{func(s *Spec) { s.Attendees = 0 }, "attendees"},
		{func(s *Spec) { s.Spares = -1 }, "spares"},
		{func(s *Spec) { s.Target = "local" }, "no node image"},
	} {
		s := awsSpec(1, 1)
		tc.mut(&s)
		err := pulumi.RunErr(Program(s), pulumi.WithMocks("labctl", "x", &mocks{}))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error naming %s", err, tc.want)
		}
	}
}

func TestParseOutputs(t *testing.T) {
	if _, err := ParseOutputs(map[string]any{"clusters": []any{}}); err == nil || !strings.Contains(err.Error(), "no \"contract\"") {
		t.Errorf("missing contract: %v", err)
	}
	if _, err := ParseOutputs(map[string]any{"contract": 2.0}); err == nil || !strings.Contains(err.Error(), "contract version 2") {
		t.Errorf("version 2: %v", err)
	}
	_, err := ParseOutputs(map[string]any{"contract": 1.0, "clusters": []any{map[string]any{"index": 1, "nodes": []any{map[string]any{"name": "node1", "port": 22}}}}})
	if err == nil || !strings.Contains(err.Error(), "cluster 1 node1") {
		t.Errorf("incomplete node: %v", err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, name+".golden", string(got))
}
