package program

import (
	"reflect"
	"strings"
	"testing"
)

// labctl stop 2 and labctl start 2, as the program sees them: the state
// field names cluster 2 stopped, then no cluster. Between the three runs
// only cluster 2's InstanceState resources change; every other resource
// has the same inputs, and the outputs (the cards' addresses: Elastic IPs)
// are the same.
func TestStopStartChangesOnlyInstanceStates(t *testing.T) {
	s := awsSpec(3, 2)
	before, outBefore := run(t, s)
	s.Stopped = []int{2}
	stopped, outStopped := run(t, s)
	s.Stopped = nil
	started, outStarted := run(t, s)

	changed := diff(t, before, stopped)
	want := []string{InstanceStateType + " c02-node1", InstanceStateType + " c02-node2"}
	if !reflect.DeepEqual(changed, want) {
		t.Errorf("stop changed %v, want only %v", changed, want)
	}
	for _, r := range stopped.resources {
		if r.Type == InstanceStateType {
			wantState := StateRunning
			if strings.HasPrefix(r.Name, "c02-") {
				wantState = StateStopped
			}
			if r.Inputs["state"] != wantState || r.Inputs["force"] != false {
				t.Errorf("%s: %v, want state %s, not forced", r.Name, r.Inputs, wantState)
			}
		}
	}
	if changed := diff(t, before, started); len(changed) != 0 {
		t.Errorf("start did not bring back the same inputs: %v differ", changed)
	}
	if !reflect.DeepEqual(outBefore, outStopped) || !reflect.DeepEqual(outBefore, outStarted) {
		t.Errorf("the outputs changed across stop/start:\n%+v\n%+v\n%+v", outBefore, outStopped, outStarted)
	}
}

// diff lists the resources ("type name") whose inputs differ between two
// runs; a resource only one run has fails the test.
func diff(t *testing.T, a, b *mocks) []string {
	t.Helper()
	key := func(r registered) string { return r.Type + " " + r.Name }
	bm := map[string]registered{}
	for _, r := range b.resources {
		bm[key(r)] = r
	}
	if len(a.resources) != len(b.resources) {
		t.Errorf("%d resources, then %d", len(a.resources), len(b.resources))
	}
	var out []string
	for _, r := range a.resources {
		o, ok := bm[key(r)]
		if !ok {
			t.Errorf("%s is gone", key(r))
			continue
		}
		if !reflect.DeepEqual(r.Inputs, o.Inputs) {
			out = append(out, key(r))
		}
	}
	return out
}

// untaggable are the AWS resources the program makes that AWS gives no
// tags: an association of a subnet with a route table, and an instance's
// power state (not an AWS object at all). Any other AWS resource must
// carry the tags: labctl sweep finds orphans by them.
var untaggable = map[string]bool{
	"aws:ec2/routeTableAssociation:RouteTableAssociation": true,
	InstanceStateType: true,
}

// perNode are the resources made for one node: they also carry the
// attendee number and the node's name.
var perNode = map[string]bool{"aws:ec2/instance:Instance": true, "aws:ec2/eip:Eip": true}

func TestEveryAWSResourceTagged(t *testing.T) {
	s := awsSpec(2, 2)
	s.Spares = 1 // cluster 3: tagged labctl:attendee=spare
	s.AWS.VPC = "new"
	s.EndsAt = "2026-12-11T17:00:00Z"
	m, _ := run(t, s)
	seen := map[string]int{}
	for _, r := range m.resources {
		if !strings.HasPrefix(r.Type, "aws:") {
			continue // the provider itself, the host keys (pulumi-tls)
		}
		seen[r.Type]++
		if untaggable[r.Type] {
			if _, ok := r.Inputs["tags"]; ok {
				t.Errorf("%s %s has tags: take it out of untaggable", r.Type, r.Name)
			}
			continue
		}
		check := func(where string, v any) {
			tags, _ := v.(map[string]any)
			if tags[TagLab] != "k8s-101" || tags[TagEndsAt] != "2026-12-11T17:00:00Z" {
				t.Errorf("%s %s%s: tags %v lack the lab or its end", r.Type, r.Name, where, tags)
			}
			if perNode[r.Type] {
				c, n := strings.TrimPrefix(r.Name[1:3], "0"), r.Name[4:]
				attendee := c
				if c == "3" {
					attendee = SpareTag
				}
				if tags[TagAttendee] != attendee || tags[TagCluster] != c || tags[TagNode] != n {
					t.Errorf("%s %s%s: tags %v lack attendee %s, cluster %s, node %s", r.Type, r.Name, where, tags, attendee, c, n)
				}
			}
		}
		check("", r.Inputs["tags"])
		if r.Type == "aws:ec2/instance:Instance" {
			check(" root volume", r.Inputs["rootBlockDevice"].(map[string]any)["tags"])
		}
	}
	for _, typ := range []string{"aws:ec2/vpc:Vpc", "aws:ec2/internetGateway:InternetGateway", "aws:ec2/subnet:Subnet",
		"aws:ec2/routeTable:RouteTable", "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/keyPair:KeyPair",
		"aws:ec2/instance:Instance", "aws:ec2/eip:Eip", InstanceStateType} {
		if seen[typ] == 0 {
			t.Errorf("no %s made: the test no longer covers it", typ)
		}
	}
}

// Without Elastic IPs (provider.aws.addresses: ephemeral) the program
// makes none and the contract gives the instances' own addresses.
func TestEphemeralAddresses(t *testing.T) {
	s := awsSpec(1, 2)
	s.AWS.Addresses = "ephemeral"
	m, o := run(t, s)
	if n := count(m)["aws:ec2/eip:Eip"]; n != 0 {
		t.Errorf("%d Elastic IPs", n)
	}
	if a := o.Clusters[0].Nodes[1].PublicAddress; a != "203.0.113.12" {
		t.Errorf("node2's address %s, want the instance's", a)
	}
}

func TestParseStopped(t *testing.T) {
	for in, want := range map[string][]int{"": nil, "2": {2}, " 3, 1,3 ": {1, 3}} {
		got, err := ParseStopped(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseStopped(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"x", "0", "1,,2", "-1"} {
		if _, err := ParseStopped(in); err == nil || !strings.HasPrefix(err.Error(), "labctl:stopped:") {
			t.Errorf("ParseStopped(%q): %v", in, err)
		}
	}
}
