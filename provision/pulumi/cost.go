package pulumi

import (
	_ "embed"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/labctl/labctl/lab"
)

// PriceFile is the dated price table in labctl's source, embedded.
const PriceFile = "provision/pulumi/prices.yaml"

//go:embed prices.yaml
var pricesYAML []byte

// hoursPerMonth is the month AWS prorates storage over (GiB-month).
const hoursPerMonth = 730

// elasticIPQuota is the Elastic IPs an AWS account may hold per region
// unless it asks for more.
const elasticIPQuota = 5

// PriceTable is prices.yaml.
type PriceTable struct {
	Date     string `yaml:"date"`
	Currency string `yaml:"currency"`
	// PublicIPv4Hour is the default of regions that do not set theirs.
	PublicIPv4Hour float64                 `yaml:"publicIPv4Hour"`
	Regions        map[string]RegionPrices `yaml:"regions"`
}

// RegionPrices are one region's prices.
type RegionPrices struct {
	GP3GBMonth     float64            `yaml:"gp3GBMonth"`
	PublicIPv4Hour float64            `yaml:"publicIPv4Hour"`
	Instances      map[string]float64 `yaml:"instances"`
}

// Prices is the table labctl carries.
func Prices() (*PriceTable, error) { return parsePrices(pricesYAML) }

func parsePrices(b []byte) (*PriceTable, error) {
	var t PriceTable
	if err := yaml.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", PriceFile, err)
	}
	if _, err := time.Parse(time.DateOnly, t.Date); err != nil || len(t.Regions) == 0 {
		return nil, fmt.Errorf("%s: no date or no regions", PriceFile)
	}
	return &t, nil
}

// UnitPrices are the prices one lab's estimate uses, each known or not,
// and where they come from.
type UnitPrices struct {
	Region, InstanceType string
	// InstanceHour is one instance running for an hour, GP3GBMonth a GiB
	// of gp3 for a month, PublicIPv4Hour one public address for an hour.
	InstanceHour, GP3GBMonth, PublicIPv4Hour float64
	// Known say which of the three are prices (else unknown, counted 0).
	KnownInstance, KnownGP3, KnownIPv4 bool
	// Overridden say which came from the lab file (provider.aws.prices).
	OverInstance, OverGP3, OverIPv4 bool
	// From says where the prices come from, for the estimate's title.
	From string
	// Warnings name a price the table lacks and the lab file does not
	// give: the estimate leaves it out.
	Warnings []string
}

// LabPrices are the lab's unit prices: the lab file's overrides, else the
// table's for the lab's region and instance type.
func LabPrices(l *lab.Lab, t *PriceTable) UnitPrices {
	a := l.Provider.AWS
	p := UnitPrices{Region: a.Region, InstanceType: a.InstanceType}
	table := fmt.Sprintf("%s of %s", PriceFile, t.Date)
	region, haveRegion := t.Regions[a.Region]
	if haveRegion {
		p.InstanceHour, p.KnownInstance = region.Instances[a.InstanceType]
		p.GP3GBMonth, p.KnownGP3 = region.GP3GBMonth, region.GP3GBMonth > 0
	}
	p.PublicIPv4Hour, p.KnownIPv4 = t.PublicIPv4Hour, t.PublicIPv4Hour > 0
	if region.PublicIPv4Hour > 0 {
		p.PublicIPv4Hour = region.PublicIPv4Hour
	}
	o := a.Prices
	if o.InstanceHour != nil {
		p.InstanceHour, p.KnownInstance, p.OverInstance = *o.InstanceHour, true, true
	}
	if o.GP3GBMonth != nil {
		p.GP3GBMonth, p.KnownGP3, p.OverGP3 = *o.GP3GBMonth, true, true
	}
	if o.PublicIPv4Hour != nil {
		p.PublicIPv4Hour, p.KnownIPv4, p.OverIPv4 = *o.PublicIPv4Hour, true, true
	}
	fromLab := "provider.aws.prices"
	if o.Date != "" {
		fromLab += " of " + o.Date
	}
	switch {
	case p.OverInstance && p.OverGP3 && p.OverIPv4:
		p.From = fromLab
	case p.OverInstance || p.OverGP3 || p.OverIPv4:
		p.From = fmt.Sprintf("%s, the rest from %s", fromLab, table)
	default:
		p.From = table
	}
	if !haveRegion && !(p.OverInstance && p.OverGP3) {
		var have []string
		for r := range t.Regions {
			have = append(have, r)
		}
		sort.Strings(have)
		p.Warnings = append(p.Warnings, fmt.Sprintf("warning: provider.aws.region: %s has no prices in %s (it has %s): set provider.aws.prices.instanceHour and .gp3GBMonth; the estimate leaves out what it lacks",
			a.Region, table, strings.Join(have, ", ")))
		return p
	}
	if !p.KnownInstance {
		p.Warnings = append(p.Warnings, fmt.Sprintf("warning: provider.aws.instanceType: %s has no price for %s in %s: set provider.aws.prices.instanceHour; the estimate leaves the instances out",
			a.InstanceType, a.Region, table))
	}
	return p
}

// Estimate is what a pulumi/aws lab costs by the hour.
type Estimate struct {
	UnitPrices
	// Nodes are the instances (attendees × nodesPerCluster), DiskGiB each
	// one's root volume.
	Nodes, DiskGiB int
	// ElasticIPs: each node keeps an Elastic IP, billed stopped too.
	ElasticIPs bool
}

// LabEstimate is the estimate of the lab file as it is.
func LabEstimate(l *lab.Lab) (Estimate, error) {
	t, err := Prices()
	if err != nil {
		return Estimate{}, err
	}
	return Estimate{UnitPrices: LabPrices(l, t), Nodes: l.ClusterCount() * l.NodesPerCluster,
		DiskGiB: l.Provider.AWS.DiskSize, ElasticIPs: l.Provider.AWS.ElasticIPs()}, nil
}

// per node and hour
func (e Estimate) instanceHour() float64 { return e.InstanceHour }
func (e Estimate) storageHour() float64  { return float64(e.DiskGiB) * e.GP3GBMonth / hoursPerMonth }
func (e Estimate) ipHour() float64       { return e.PublicIPv4Hour }

// NodeHour is one node running, NodeStoppedHour one node stopped, for an
// hour: a stopped instance costs its volume, and its Elastic IP if any.
func (e Estimate) NodeHour() float64 { return e.instanceHour() + e.storageHour() + e.ipHour() }
func (e Estimate) NodeStoppedHour() float64 {
	if e.ElasticIPs {
		return e.storageHour() + e.ipHour()
	}
	return e.storageHour()
}

// complete says whether every price is known; else totals are a floor.
func (e Estimate) complete() bool { return e.KnownInstance && e.KnownGP3 && e.KnownIPv4 }

// Render prints the estimate for `up --dry-run`: one line per thing
// billed, the class by the hour running and stopped, and until end.
func (e Estimate) Render(w io.Writer, end *time.Time, now time.Time) {
	for _, warn := range e.Warnings {
		fmt.Fprintf(w, "    %s\n", warn)
	}
	fmt.Fprintf(w, "    cost estimate, USD (on-demand Linux prices of %s, %s):\n", e.Region, e.From)
	n := float64(e.Nodes)
	unit := func(known, over bool, f string, v float64) string {
		if !known {
			return "price unknown"
		}
		s := "$" + trimZeros(fmt.Sprintf("%.5f", v)) + f
		if over {
			s += " (lab file)"
		}
		return s
	}
	total := func(known bool, v float64, when string) string {
		if !known {
			return "left out"
		}
		return fmt.Sprintf("$%.4f/h %s", v, when)
	}
	rows := [][3]string{
		{fmt.Sprintf("%d × %s", e.Nodes, e.InstanceType), unit(e.KnownInstance, e.OverInstance, "/h each", e.InstanceHour),
			total(e.KnownInstance, n*e.instanceHour(), "while running")},
		{fmt.Sprintf("%d × %d GiB gp3 root volume", e.Nodes, e.DiskGiB), unit(e.KnownGP3, e.OverGP3, "/GiB-month", e.GP3GBMonth),
			total(e.KnownGP3, n*e.storageHour(), "running or stopped")},
	}
	if e.ElasticIPs {
		rows = append(rows, [3]string{fmt.Sprintf("%d Elastic IPs", e.Nodes), unit(e.KnownIPv4, e.OverIPv4, "/h each", e.PublicIPv4Hour),
			total(e.KnownIPv4, n*e.ipHour(), "running or stopped")})
	} else {
		rows = append(rows, [3]string{fmt.Sprintf("%d public IPv4 addresses", e.Nodes), unit(e.KnownIPv4, e.OverIPv4, "/h each", e.PublicIPv4Hour),
			total(e.KnownIPv4, n*e.ipHour(), "while running")})
	}
	width := [2]int{}
	for _, r := range rows {
		width[0], width[1] = max(width[0], len([]rune(r[0]))), max(width[1], len([]rune(r[1])))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "      %s  %s  %s\n", pad(r[0], width[0]), pad(r[1], width[1]), r[2])
	}
	floor := ""
	if !e.complete() {
		floor = "at least "
	}
	running, stopped := n*e.NodeHour(), n*e.NodeStoppedHour()
	fmt.Fprintf(w, "      the class: %s$%.2f/h running, %s$%.2f/h stopped (labctl stop), %s$%.2f a day running\n",
		floor, running, floor, stopped, floor, 24*running)
	if end == nil {
		fmt.Fprintln(w, "      no endsAt in the lab file: no total (endsAt: 2026-12-09 gives one)")
	} else if left := end.Sub(now); left <= 0 {
		fmt.Fprintf(w, "      endsAt %s has passed\n", end.Format(time.RFC3339))
	} else {
		h := left.Hours()
		fmt.Fprintf(w, "      until endsAt %s (%.1f h from now): %s$%.2f running throughout; each hour stopped saves $%.2f\n",
			end.Format(time.RFC3339), h, floor, h*running, running-stopped)
	}
	if e.ElasticIPs && e.Nodes > elasticIPQuota {
		fmt.Fprintf(w, "      note: %d Elastic IPs: AWS allows an account %d per region unless asked (Service Quotas, \"EC2-VPC Elastic IPs\"): raise it before labctl up, or set provider.aws.addresses: ephemeral (no labctl stop)\n",
			e.Nodes, elasticIPQuota)
	}
}

// Line is the estimate in one line, for `labctl up`.
func (e Estimate) Line() string {
	floor := ""
	if !e.complete() {
		floor = "at least "
	}
	n := float64(e.Nodes)
	return fmt.Sprintf("cost estimate: %s$%.2f/h running, %s$%.2f/h stopped (%d × %s in %s, %s)",
		floor, n*e.NodeHour(), floor, n*e.NodeStoppedHour(), e.Nodes, e.InstanceType, e.Region, e.From)
}

// Spent is what a lab's machines ran and stood stopped so far, and what
// that cost at the estimate's prices.
type Spent struct {
	RunHours, StoppedHours float64 // instance-hours
	Cost                   float64 // USD
	NowHour                float64 // USD per hour, at the clusters' state now
	Stopped, Clusters      int
	Complete               bool // every price known
	From                   string
}

// LabSpent adds up the clusters' machine hours: a cluster labctl never
// stopped runs since its power record began (set at its first provision
// by this provider), else since its last provision.
func LabSpent(l *lab.Lab, s *lab.State, now time.Time) (Spent, error) {
	e, err := LabEstimate(l)
	if err != nil {
		return Spent{}, err
	}
	sp := Spent{Complete: e.complete(), From: e.From, Clusters: len(s.Clusters)}
	for _, c := range s.Clusters {
		nodes := float64(len(c.Nodes))
		var ran, idle time.Duration
		switch {
		case c.Power != nil:
			ran, idle = c.Hours(now)
		default:
			if r, ok := c.Phases["provision"]; ok && r.At.Before(now) {
				ran = now.Sub(r.At)
			}
		}
		sp.RunHours += nodes * ran.Hours()
		sp.StoppedHours += nodes * idle.Hours()
		if c.Stopped() {
			sp.Stopped++
			sp.NowHour += nodes * e.NodeStoppedHour()
		} else {
			sp.NowHour += nodes * e.NodeHour()
		}
	}
	// Running hours pay everything; stopped hours the volume (and the
	// Elastic IP).
	sp.Cost = sp.RunHours*e.NodeHour() + sp.StoppedHours*e.NodeStoppedHour()
	return sp, nil
}

// Line is the spending in one line, for `labctl status`.
func (sp Spent) Line() string {
	about := "about"
	if !sp.Complete {
		about = "at least"
	}
	return fmt.Sprintf("aws: %.1f instance-hours run, %.1f stopped; cost estimate: %s $%.2f so far, now $%.2f/h (%d of %d clusters stopped; prices: %s)",
		sp.RunHours, sp.StoppedHours, about, sp.Cost, sp.NowHour, sp.Stopped, sp.Clusters, sp.From)
}

// StatusLine is LabSpent's line for a pulumi/aws lab, else "".
func StatusLine(l *lab.Lab, s *lab.State, now time.Time) string {
	if l.Provider.Type != "pulumi" || l.Provider.Pulumi.Target != "aws" || len(s.Clusters) == 0 {
		return ""
	}
	sp, err := LabSpent(l, s, now)
	if err != nil {
		return "aws: " + err.Error()
	}
	return sp.Line()
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

func pad(s string, n int) string {
	if k := len([]rune(s)); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}
