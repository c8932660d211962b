package pulumi

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/internal/golden"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/pipeline"
	"github.com/labctl/labctl/remote"
)

// monday is when the dry runs below run: 2026-12-07 09:00 UTC.
var monday = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func parseLab(t *testing.T, body string) *lab.Lab {
	t.Helper()
	l, err := lab.Parse("lab.yaml", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// class30x4 is a four-day class of 30 attendees with 4 nodes each on the
// defaults (us-east-1, t3.medium, 20 GiB), ending Friday 17:00 UTC.
const class30x4 = "name: k8s-class\nattendees: 30\nnodesPerCluster: 4\nendsAt: 2026-12-11T17:00:00Z\n" +
	"provider: {type: pulumi, aws: {allowFrom: [198.51.100.0/24]}}\n"

// dryRun is `labctl up --dry-run` of the lab (the pipeline's dry run, the
// provider's Plan), with a labctl-pulumi that answers a preview.
func dryRun(t *testing.T, body string) string {
	t.Helper()
	l := parseLab(t, body)
	f := newFakeHelper(t, monday,
		Event{Out: fmt.Sprintf("    pulumi preview: + aws:ec2/instance:Instance × %d", l.ClusterCount()*l.NodesPerCluster)})
	store, err := lab.OpenDryRun(t.TempDir(), l.Name, 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var out bytes.Buffer
	u := &pipeline.Up{Lab: l, State: &lab.State{}, Store: store, Provider: f.Prov, Out: &out, DryRun: true,
		Engine: func(func(remote.Host, string) error) (*remote.Engine, error) {
			t.Fatal("a dry run connects to nothing")
			return nil, nil
		}}
	if err := u.Run(t.Context()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if r := f.request(); r.Op != OpPreview {
		t.Errorf("the helper was asked %q", r.Op)
	}
	// The build phase comes first; what it says depends on this
	// machine's caches, so the golden file starts at provision.
	build, plan, ok := strings.Cut(out.String(), "==> provision")
	if !ok || !strings.HasPrefix(build, "==> build") {
		t.Fatalf("a dry run's build, then provision:\n%s", out.String())
	}
	return "==> provision" + plan
}

func TestDryRunEstimate30x4Golden(t *testing.T) {
	got := dryRun(t, class30x4)
	golden.Check(t, "dry-run-30x4.golden", got)
	// The figures, from the table's prices by other arithmetic.
	node := 0.0416 + 20*0.08/730 + 0.005
	stopped := 20*0.08/730 + 0.005
	hours := time.Date(2026, 12, 11, 17, 0, 0, 0, time.UTC).Sub(monday).Hours()
	for _, want := range []string{
		"120 t3.medium instances (30 clusters × 4",
		fmt.Sprintf("$%.2f/h running, $%.2f/h stopped", 120*node, 120*stopped),
		fmt.Sprintf("(%.1f h from now): $%.2f running throughout", hours, hours*120*node),
		"120 Elastic IPs",
		"provision/pulumi/prices.yaml of 2026-12-07",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the dry run lacks %q:\n%s", want, got)
		}
	}
}

// attendees 2 + spares 1: three clusters' machines, counted and priced
// (a spare costs what any cluster costs).
func TestDryRunSparesGolden(t *testing.T) {
	got := dryRun(t, "name: k8s-class\nattendees: 2\nspares: 1\nnodesPerCluster: 2\nendsAt: 2026-12-08T17:00:00Z\n"+
		"provider: {type: pulumi, aws: {allowFrom: [198.51.100.0/24]}}\n")
	golden.Check(t, "dry-run-2+1x2.golden", got)
	node := 0.0416 + 20*0.08/730 + 0.005
	for _, want := range []string{
		"6 t3.medium instances (3 clusters: 2 attendees + 1 spare, × 2,",
		"6 × t3.medium", "6 Elastic IPs",
		fmt.Sprintf("$%.2f/h running", 6*node),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the dry run lacks %q:\n%s", want, got)
		}
	}
}

// A type the table does not price: the dry run says which field to set,
// and its totals are a floor; the class is not refused for it.
func TestDryRunUnknownInstanceType(t *testing.T) {
	got := dryRun(t, "name: c\nattendees: 2\nprovider: {type: pulumi, aws: {instanceType: x9z.large}}\n")
	for _, want := range []string{
		"warning: provider.aws.instanceType: x9z.large has no price for us-east-1 in provision/pulumi/prices.yaml of 2026-12-07: set provider.aws.prices.instanceHour",
		"price unknown", "left out", "at least $",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
}

// The lab file's prices win over the table's, and say so.
func TestDryRunPriceOverride(t *testing.T) {
	got := dryRun(t, "name: c\nattendees: 10\nnodesPerCluster: 1\nprovider: {type: pulumi, aws: {region: ap-south-2, instanceType: m7i.large, "+
		"prices: {instanceHour: 0.5, gp3GBMonth: 0.1, publicIPv4Hour: 0.01, date: 2026-11-30}}}\n")
	for _, want := range []string{
		"(on-demand Linux prices of ap-south-2, provider.aws.prices of 2026-11-30)",
		"$0.5/h each (lab file)",
		fmt.Sprintf("$%.2f/h running", 10*(0.5+20*0.1/730+0.01)),
		"no endsAt in the lab file",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "warning") {
		t.Errorf("a region the table lacks needs no warning when the lab file prices it:\n%s", got)
	}
	// Without its prices, the region the table lacks is named.
	got = dryRun(t, "name: c\nprovider: {type: pulumi, aws: {region: ap-south-2}}\n")
	if !strings.Contains(got, "warning: provider.aws.region: ap-south-2 has no prices in provision/pulumi/prices.yaml") {
		t.Errorf("unknown region:\n%s", got)
	}
}

func TestPriceTable(t *testing.T) {
	pt, err := Prices()
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range pt.Regions {
		if !lab.IsAWSRegion(name) || r.GP3GBMonth <= 0 || len(r.Instances) == 0 {
			t.Errorf("region %s: %+v", name, r)
		}
		for typ, p := range r.Instances {
			if p <= 0 || p > 10 {
				t.Errorf("%s %s: %v", name, typ, p)
			}
		}
	}
	if pt.Regions["us-east-1"].Instances["t3.medium"] != 0.0416 || pt.PublicIPv4Hour != 0.005 {
		t.Errorf("us-east-1 t3.medium %v, IPv4 %v", pt.Regions["us-east-1"].Instances["t3.medium"], pt.PublicIPv4Hour)
	}
}

// status: hours run and stopped so far, and their cost.
func TestSpent(t *testing.T) {
	l := parseLab(t, "name: c\nattendees: 2\nnodesPerCluster: 2\nprovider: {type: pulumi}\n")
	now := monday.Add(10 * time.Hour)
	s := &lab.State{Clusters: []lab.Cluster{
		{Index: 1, Nodes: make([]lab.Node, 2), Power: &lab.Power{Since: monday}}, // ran 10 h
		{Index: 2, Nodes: make([]lab.Node, 2), Power: &lab.Power{Since: monday}},
	}}
	s.Clusters[1].SetStopped(true, monday.Add(4*time.Hour)) // ran 4 h, stopped 6 h
	sp, err := LabSpent(l, s, now)
	if err != nil {
		t.Fatal(err)
	}
	node, idle := 0.0416+20*0.08/730+0.005, 20*0.08/730+0.005
	if sp.RunHours != 28 || sp.StoppedHours != 12 || sp.Stopped != 1 {
		t.Errorf("%+v, want 28 instance-hours run, 12 stopped", sp)
	}
	if d := sp.Cost - (28*node + 12*idle); d > 1e-9 || d < -1e-9 {
		t.Errorf("cost %v, want %v", sp.Cost, 28*node+12*idle)
	}
	line := StatusLine(l, s, now)
	for _, want := range []string{"28.0 instance-hours run, 12.0 stopped", fmt.Sprintf("cost estimate: about $%.2f so far", 28*node+12*idle),
		fmt.Sprintf("now $%.2f/h (1 of 2 clusters stopped", 2*node+2*idle)} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
	if StatusLine(parseLab(t, "name: c\n"), s, now) != "" {
		t.Error("a local lab has a cost line")
	}
}
