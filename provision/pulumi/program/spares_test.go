package program

import (
	"strings"
	"testing"

	"github.com/labctl/labctl/lab"
)

// spares: 1 beside 2 attendees makes three clusters, the third tagged as
// a spare (labctl:attendee=spare) with its cluster number, on both
// targets; the outputs list all three.
func TestSparesMakeClusters(t *testing.T) {
	s := awsSpec(2, 2)
	s.Spares = 1
	m, o := run(t, s)
	if n := count(m)["aws:ec2/instance:Instance"]; n != 6 {
		t.Errorf("%d instances for 2 attendees + 1 spare × 2 nodes, want 6", n)
	}
	if len(o.Clusters) != 3 || o.Clusters[2].Index != 3 || len(o.Clusters[2].Nodes) != 2 {
		t.Fatalf("outputs: %+v, want 3 clusters of 2", o.Clusters)
	}
	spareTagged := 0
	for _, r := range m.resources {
		if r.Type != "aws:ec2/instance:Instance" && r.Type != "aws:ec2/eip:Eip" {
			continue
		}
		tags := r.Inputs["tags"].(map[string]any)
		spare := strings.HasPrefix(r.Name, "c03-")
		if spare != (tags[TagAttendee] == SpareTag) {
			t.Errorf("%s %s: labctl:attendee=%v", r.Type, r.Name, tags[TagAttendee])
		}
		if spare {
			spareTagged++
			if tags[TagCluster] != "3" {
				t.Errorf("%s %s: labctl:cluster=%v, want 3", r.Type, r.Name, tags[TagCluster])
			}
		}
	}
	if spareTagged != 4 {
		t.Errorf("%d of the spare's instances and Elastic IPs tagged as spare, want 4", spareTagged)
	}
	checkGolden(t, "aws-2+1x1-tags.json", mustJSON(t, nodeTags(t, awsSpecSpares())))

	local := Spec{Lab: "spares-local", Attendees: 2, Spares: 1, NodesPerCluster: 1, Target: "local", User: "root",
		AuthorizedKey: "ssh-ed25519 AAAALABCTL labctl", Local: LocalSpec{Image: "localhost/labctl-node:test"}}
	if _, o := run(t, local); len(o.Clusters) != 3 {
		t.Errorf("local target: %d clusters, want 3", len(o.Clusters))
	}
}

// SpecFromLab carries the lab file's spares to the program.
func TestSpecFromLabSpares(t *testing.T) {
	l, err := lab.Parse("lab.yaml", []byte("attendees: 2\nspares: 1\nprovider: {type: pulumi}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := SpecFromLab(l, "ssh-ed25519 AAAA x")
	if s.Attendees != 2 || s.Spares != 1 || s.clusters() != l.ClusterCount() {
		t.Errorf("spec %d attendees + %d spares, lab %d clusters", s.Attendees, s.Spares, l.ClusterCount())
	}
}

func awsSpecSpares() Spec {
	s := awsSpec(2, 1)
	s.Spares = 1
	return s
}

// nodeTags are the tags of each instance, by resource name: the golden
// shows a reader what a spare's machines carry.
func nodeTags(t *testing.T, s Spec) map[string]any {
	t.Helper()
	m, _ := run(t, s)
	out := map[string]any{}
	for _, r := range m.resources {
		if r.Type == "aws:ec2/instance:Instance" {
			out[r.Name] = r.Inputs["tags"]
		}
	}
	return out
}
