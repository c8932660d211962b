package pulumi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision/pulumi/program"
)

// fakeCloud is AWS as the sweep sees it.
type fakeCloud struct {
	resources []CloudResource
	regions   []string
	deleted   [][]CloudResource
}

func (f *fakeCloud) Inventory(_ context.Context, regions []string) ([]CloudResource, error) {
	f.regions = regions
	return f.resources, nil
}

func (f *fakeCloud) Delete(_ context.Context, rs []CloudResource) error {
	f.deleted = append(f.deleted, rs)
	return nil
}

// pulumiLab writes a pulumi lab's state under root, and its stack's
// checkpoint holding resources (id, outputs) unless resources is nil.
func pulumiLab(t *testing.T, root, name string, extra map[string]string, nodeIDs []string, resources []map[string]any) string {
	t.Helper()
	dir := filepath.Join(root, name)
	st, err := lab.Open(dir, name, 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := &lab.State{Lab: name, Provider: lab.ProviderState{Type: "pulumi", Extra: extra}}
	for i, id := range nodeIDs {
		s.Clusters = append(s.Clusters, lab.Cluster{Index: i + 1, Nodes: []lab.Node{{Name: "node1", ID: id}}})
	}
	if err := st.Save(s); err != nil {
		t.Fatal(err)
	}
	if resources != nil {
		cp := map[string]any{"version": 3, "checkpoint": map[string]any{"stack": name, "latest": map[string]any{"resources": resources}}}
		b, _ := json.Marshal(cp)
		p := filepath.Join(dir, "pulumi", "backend", ".pulumi", "stacks", "labctl", name+".json")
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func res(id string, outputs map[string]any) map[string]any {
	return map[string]any{"urn": "urn:x::" + id, "id": id, "outputs": outputs}
}

func TestOrphanSweep(t *testing.T) {
	root := t.TempDir()
	now := time.Date(2026, 12, 12, 8, 0, 0, 0, time.UTC)
	aws := map[string]string{ExtraTarget: "aws", ExtraRegion: "us-east-1"}
	pulumiLab(t, root, "known", aws, []string{"i-1"}, []map[string]any{
		res("i-1", map[string]any{"rootBlockDevice": []any{map[string]any{"volumeId": "vol-1"}}}),
		res("eipalloc-1", nil), res("labctl-known", map[string]any{"keyPairId": "key-1"}), res("sg-1", nil),
	})
	pulumiLab(t, root, "elsewhere", map[string]string{ExtraTarget: "aws", ExtraRegion: "us-east-1", ExtraBackend: "s3://bucket"}, []string{"i-e"}, nil)
	busyDir := pulumiLab(t, root, "busy", aws, []string{"i-b"}, []map[string]any{res("i-b", nil)})
	pulumiLab(t, root, "unread", aws, []string{"i-u"}, []map[string]any{res("i-other", nil)})
	pulumiLab(t, root, "nocheckpoint", aws, []string{"i-c"}, nil)
	busy, err := lab.Open(busyDir, "busy", 0, "labctl up")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	r := func(kind, id, labName, endsAt string) CloudResource {
		return CloudResource{Region: "us-east-1", Kind: kind, ID: id, Lab: labName, EndsAt: endsAt}
	}
	cloud := &fakeCloud{resources: []CloudResource{
		r(KindInstance, "i-1", "known", "none"), r(KindVolume, "vol-1", "known", "none"),
		r(KindElasticIP, "eipalloc-1", "known", "none"), r(KindKeyPair, "labctl-known", "known", "none"), r(KindSecurityGroup, "sg-1", "known", "none"),
		r(KindVolume, "vol-9", "known", "none"), r(KindInstance, "i-9", "known", "none"), // a crashed run's
		{Region: "us-east-1", Kind: KindInstance, ID: "i-8", Lab: "known", State: "terminated"},
		r(KindInstance, "i-e", "elsewhere", ""), r(KindInstance, "i-b", "busy", ""), r(KindInstance, "i-u", "unread", ""),
		r(KindInstance, "i-c", "nocheckpoint", ""),
		r(KindInstance, "i-g", "gone", "2026-12-11T17:00:00Z"),  // ended, no state here
		r(KindInstance, "i-o", "other", "2026-12-20T17:00:00Z"), // not ended, no state here
		r(KindSecurityGroup, "sg-n", "nameless", "none"),        // no end, no state here
	}}
	var out bytes.Buffer
	o := &OrphanSweep{Root: root, Regions: []string{"eu-west-3"}, Now: now, Out: &out, Cloud: cloud}
	if err := o.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !slices.Equal(cloud.regions, []string{"eu-west-3", "us-east-1"}) {
		t.Errorf("looked in %v", cloud.regions)
	}
	if len(cloud.deleted) > 0 {
		t.Errorf("without --yes, deleted %v", cloud.deleted)
	}
	for _, want := range []string{
		"us-east-1 instance i-9 (lab known): ORPHAN: lab known's stack does not hold it",
		"us-east-1 volume vol-9 (lab known): ORPHAN",
		"i-e (lab elsewhere): left alone (lab elsewhere: its stack is in s3://bucket",
		"i-b (lab busy): left alone (lab busy: busy: another labctl holds it",
		"i-u (lab unread): left alone (lab unread: its stack does not hold instance i-u, which the state records)",
		"i-c (lab nocheckpoint): left alone (lab nocheckpoint: no checkpoint of stack nocheckpoint found",
		"i-g (lab gone): ORPHAN: no state under " + root + " knows lab gone, which ended 2026-12-11T17:00:00Z",
		"i-o (lab other): no state under " + root + " knows lab other (ends 2026-12-20T17:00:00Z; another machine's class?): left alone; --orphans-of other",
		"sg-n (lab nameless): no state under " + root + " knows lab nameless (no end date;",
		"3 orphans would be deleted (--yes)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("lacks %q", want)
		}
	}
	for _, own := range []string{"i-1 ", "vol-1 ", "eipalloc-1 ", "labctl-known ", "sg-1 ", "i-8 "} {
		if strings.Contains(text, own) {
			t.Errorf("%s is the lab's own (or gone), yet listed", own)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Log(text)
	}

	out.Reset()
	o.Yes, o.OrphansOf = true, []string{"nameless"}
	if err := o.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(cloud.deleted) != 1 {
		t.Fatalf("%d deletes", len(cloud.deleted))
	}
	var ids []string
	for _, d := range cloud.deleted[0] {
		ids = append(ids, d.ID)
	}
	if want := []string{"i-9", "i-g", "vol-9", "sg-n"}; !slices.Equal(ids, want) {
		t.Errorf("deleted %v, want %v in that order", ids, want)
	}
	if !strings.Contains(out.String(), "4 orphans deleted") {
		t.Errorf("%s", out.String())
	}
}

func TestOrphanSweepNoRegion(t *testing.T) {
	var out bytes.Buffer
	cloud := &fakeCloud{}
	o := &OrphanSweep{Root: t.TempDir(), Now: time.Now(), Out: &out, Cloud: cloud}
	if err := o.Run(t.Context()); err != nil || cloud.regions != nil || !strings.Contains(out.String(), "no region to look in") {
		t.Errorf("%v %v %s", err, cloud.regions, out.String())
	}
}

func TestStackIDsGzip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, ".pulumi", "stacks", "labctl", "s.json.gz")
	os.MkdirAll(filepath.Dir(p), 0o700)
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(`{"checkpoint":{"latest":{"resources":[{"id":"i-1","outputs":{"x":{"allocationId":"eipalloc-1"}}}]}}}`))
	zw.Close()
	os.WriteFile(p, b.Bytes(), 0o600)
	ids, found, err := StackIDs(dir, "s")
	if err != nil || !found || !ids["i-1"] || !ids["eipalloc-1"] {
		t.Errorf("%v %v %v", ids, found, err)
	}
	if _, found, err := StackIDs(dir, "missing"); found || err != nil {
		t.Errorf("missing stack: %v %v", found, err)
	}
}

// A spare's resources are described as a spare, an attendee's by number;
// labctl's copy of the spare tag is the program's.
func TestDescribeSpare(t *testing.T) {
	if spareTag != program.SpareTag {
		t.Fatalf("spareTag %q, the program tags %q", spareTag, program.SpareTag)
	}
	if got := describe(CloudResource{Lab: "c", Name: "c-03-node1", Attendee: program.SpareTag}); got != "(lab c, c-03-node1, spare)" {
		t.Errorf("spare: %s", got)
	}
	if got := describe(CloudResource{Lab: "c", Name: "c-01-node1", Attendee: "1"}); got != "(lab c, c-01-node1, attendee 1)" {
		t.Errorf("attendee: %s", got)
	}
}

// Tag values are written by whoever holds the account's (or an
// instance role's) credentials: sweep prints them escaped, on one line.
func TestOrphanSweepEscapesTags(t *testing.T) {
	var out bytes.Buffer
	cloud := &fakeCloud{resources: []CloudResource{{Region: "us-east-1", Kind: KindInstance, ID: "i-x\x1b]0;owned\x07",
		Lab: "evil\nORPHAN deleted\x1b[2J", EndsAt: "none"}}}
	o := &OrphanSweep{Root: t.TempDir(), Regions: []string{"us-east-1"}, Now: time.Now(), Out: &out, Cloud: cloud}
	if err := o.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if strings.ContainsAny(text, "\x1b\x07") || strings.Contains(text, "\nORPHAN deleted") {
		t.Fatalf("a tag's control characters reached the output:\n%q", text)
	}
	if !strings.Contains(text, `lab evil\nORPHAN deleted\x1b[2J (no end date;`) {
		t.Errorf("the lab's name is not shown escaped:\n%s", text)
	}
}
