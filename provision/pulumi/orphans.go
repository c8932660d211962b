package pulumi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
)

// CloudResource is one AWS resource carrying labctl's tags, as an
// inventory found it.
type CloudResource struct {
	Region string `json:"region"`
	// Kind is what it is (see kindOrder), ID its AWS handle (a key pair's
	// is its name, as Pulumi records it).
	Kind string `json:"kind"`
	ID   string `json:"id"`
	// Lab, EndsAt and Attendee are its labctl:* tags, Name its Name tag.
	Lab      string `json:"lab"`
	EndsAt   string `json:"endsAt,omitempty"`
	Attendee string `json:"attendee,omitempty"`
	Name     string `json:"name,omitempty"`
	// State is an instance's (running, stopped, terminated...).
	State string `json:"state,omitempty"`
}

// Resource kinds, in the order they can be deleted: an instance before
// the volume, address and security group it uses, a subnet and route
// table before their VPC.
const (
	KindInstance        = "instance"
	KindElasticIP       = "elastic-ip"
	KindVolume          = "volume"
	KindKeyPair         = "key-pair"
	KindSecurityGroup   = "security-group"
	KindRouteTable      = "route-table"
	KindSubnet          = "subnet"
	KindInternetGateway = "internet-gateway"
	KindVPC             = "vpc"
)

var kindOrder = []string{KindInstance, KindElasticIP, KindVolume, KindKeyPair, KindSecurityGroup,
	KindRouteTable, KindSubnet, KindInternetGateway, KindVPC}

// SortForDelete orders resources the way they can be deleted.
func SortForDelete(rs []CloudResource) {
	rank := func(k string) int {
		if i := slices.Index(kindOrder, k); i >= 0 {
			return i
		}
		return len(kindOrder)
	}
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if rank(a.Kind) != rank(b.Kind) {
			return rank(a.Kind) < rank(b.Kind)
		}
		return a.Region+a.ID < b.Region+b.ID
	})
}

// Cloud is where labctl sweep looks for orphans: every resource tagged
// labctl:lab in some regions, and a way to delete some. On AWS it is
// labctl-pulumi (HelperCloud); tests give a fake.
type Cloud interface {
	Inventory(ctx context.Context, regions []string) ([]CloudResource, error)
	// Delete deletes the resources, in SortForDelete's order, waiting for
	// instances to be gone before what they used.
	Delete(ctx context.Context, rs []CloudResource) error
}

// OrphanSweep is the AWS half of `labctl sweep`: resources tagged as
// labctl's that no state under Root knows, listed and with Yes deleted.
//
// A resource of a pulumi lab under Root is an orphan when the lab's stack
// (a file backend labctl can read) does not hold it: what a crashed
// `pulumi up` made and never recorded. A lab whose stack is elsewhere
// (another backend, the instructor's own stack) or busy (another labctl
// holds its lock) keeps all its resources. A resource of a lab no state
// under Root knows is an orphan once its labctl:endsAt has passed, or
// when OrphansOf names its lab; otherwise it may be another machine's
// class, and is only listed.
type OrphanSweep struct {
	Root string
	// Regions are looked in besides those of the pulumi labs under Root.
	Regions   []string
	OrphansOf []string
	Yes       bool
	Now       time.Time
	Out       io.Writer
	Cloud     Cloud
}

// stackLab is a pulumi lab under the root, as the sweep sees it.
type stackLab struct {
	name, dir, region string
	known             map[string]bool // IDs its stack holds
	why               string          // why its stack cannot be read ("" when known is set)
	store             *lab.Store
}

// Run lists (and with Yes deletes) the orphans.
func (o *OrphanSweep) Run(ctx context.Context) error {
	labs, err := o.labs()
	defer func() {
		for _, l := range labs {
			if l.store != nil {
				l.store.Close()
			}
		}
	}()
	if err != nil {
		return err
	}
	regions := slices.Clone(o.Regions)
	for _, l := range labs {
		if l.region != "" && !slices.Contains(regions, l.region) {
			regions = append(regions, l.region)
		}
	}
	sort.Strings(regions)
	if len(regions) == 0 {
		fmt.Fprintf(o.Out, "    aws: no region to look in (no pulumi/aws lab under %s): --aws-region REGION looks there\n", o.Root)
		return nil
	}
	fmt.Fprintf(o.Out, "==> aws: resources tagged %s in %s\n", "labctl:lab", strings.Join(regions, ", "))
	all, err := o.Cloud.Inventory(ctx, regions)
	if err != nil {
		return fmt.Errorf("aws inventory: %w", err)
	}
	byName := map[string]*stackLab{}
	for i := range labs {
		byName[labs[i].name] = &labs[i]
	}
	var orphans []CloudResource
	kept, listed := 0, 0
	for _, r := range all {
		if r.Kind == KindInstance && (r.State == "terminated" || r.State == "shutting-down") {
			continue // going or gone: nothing to pay, nothing to delete
		}
		// Tags and IDs come from the account, where anyone with its
		// credentials (or a node's instance role) may have written them:
		// printed escaped, one line each.
		what := remote.EscapeLine(fmt.Sprintf("%s %s %s %s", r.Region, r.Kind, r.ID, describe(r)))
		name := remote.EscapeLine(r.Lab)
		l, ok := byName[r.Lab]
		switch {
		case ok && l.known == nil:
			kept++
			fmt.Fprintf(o.Out, "    %s: left alone (lab %s: %s)\n", what, name, l.why)
		case ok && l.known[r.ID]:
			kept++ // in its stack: the lab's own
		case ok:
			fmt.Fprintf(o.Out, "    %s: ORPHAN: lab %s's stack does not hold it (a crashed run's)\n", what, name)
			orphans = append(orphans, r)
		case slices.Contains(o.OrphansOf, r.Lab):
			fmt.Fprintf(o.Out, "    %s: ORPHAN: no state under %s knows lab %s (--orphans-of)\n", what, o.Root, name)
			orphans = append(orphans, r)
		default:
			end, err := lab.ParseEnd(r.EndsAt)
			if r.EndsAt != "" && r.EndsAt != "none" && err == nil && !o.Now.Before(end) {
				fmt.Fprintf(o.Out, "    %s: ORPHAN: no state under %s knows lab %s, which ended %s\n", what, o.Root, name, end.Format(time.RFC3339))
				orphans = append(orphans, r)
				continue
			}
			listed++
			ends := "no end date"
			if err == nil && !end.IsZero() {
				ends = "ends " + end.Format(time.RFC3339)
			}
			fmt.Fprintf(o.Out, "    %s: no state under %s knows lab %s (%s; another machine's class?): left alone; --orphans-of %s deletes its resources\n",
				what, o.Root, name, ends, name)
		}
	}
	fmt.Fprintf(o.Out, "    %d tagged resources: %d in their labs' stacks or left alone, %d of labs unknown here, %d orphans\n",
		len(all)-countGone(all), kept, listed, len(orphans))
	if len(orphans) == 0 {
		return nil
	}
	if !o.Yes {
		fmt.Fprintf(o.Out, "    %d orphans would be deleted (--yes)\n", len(orphans))
		return nil
	}
	SortForDelete(orphans)
	if err := o.Cloud.Delete(ctx, orphans); err != nil {
		return fmt.Errorf("deleting orphans: %w", err)
	}
	fmt.Fprintf(o.Out, "    %d orphans deleted\n", len(orphans))
	return nil
}

func countGone(rs []CloudResource) int {
	n := 0
	for _, r := range rs {
		if r.Kind == KindInstance && (r.State == "terminated" || r.State == "shutting-down") {
			n++
		}
	}
	return n
}

// spareTag is program.SpareTag, the labctl:attendee tag of a spare
// cluster's resources (program links the Pulumi SDK, which labctl does
// not: orphans_test checks the two agree).
const spareTag = "spare"

func describe(r CloudResource) string {
	var parts []string
	if r.Name != "" {
		parts = append(parts, r.Name)
	}
	switch r.Attendee {
	case "":
	case spareTag:
		parts = append(parts, "spare")
	default:
		parts = append(parts, "attendee "+r.Attendee)
	}
	if r.State != "" {
		parts = append(parts, r.State)
	}
	return "(" + strings.Join(append([]string{"lab " + r.Lab}, parts...), ", ") + ")"
}

// labs are the pulumi labs under the root, each with what its stack
// holds, locked so no labctl changes it while the sweep decides.
func (o *OrphanSweep) labs() ([]stackLab, error) {
	entries, err := os.ReadDir(o.Root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	var out []stackLab
	for _, e := range entries {
		dir := filepath.Join(o.Root, e.Name())
		if !e.IsDir() {
			continue
		}
		_, serr := os.Stat(filepath.Join(dir, "state.json"))
		_, berr := os.Stat(filepath.Join(dir, "pulumi"))
		if serr != nil && berr != nil {
			continue // not a lab, or not a pulumi one
		}
		l := stackLab{name: e.Name(), dir: dir}
		extra := map[string]string{}
		var nodeIDs []string // the instances the state knows
		if serr == nil {
			s, err := lab.ReadState(dir)
			if err != nil {
				fmt.Fprintf(o.Out, "    %s: skipped: %v\n", e.Name(), err)
				continue
			}
			if s.Provider.Type != "pulumi" {
				continue
			}
			l.name, extra = s.Lab, s.Provider.Extra
			for _, c := range s.Clusters {
				for _, n := range c.Nodes {
					if n.ID != "" {
						nodeIDs = append(nodeIDs, n.ID)
					}
				}
			}
		}
		l.region = extra[ExtraRegion]
		switch backend := extra[ExtraBackend]; {
		case extra[ExtraStack] != "":
			l.why = "its stack " + extra[ExtraStack] + " is the instructor's"
		case backend != "" && backend != "file://"+dirs{filepath.Join(dir, "pulumi")}.backend():
			l.why = "its stack is in " + backend + ", which the sweep does not read"
		default:
			st, err := lab.Open(dir, l.name, 0, "labctl sweep")
			if err != nil {
				l.why = "busy: another labctl holds it; sweep again later"
				break
			}
			l.store = st
			known, found, err := StackIDs(dirs{filepath.Join(dir, "pulumi")}.backend(), l.name)
			if err != nil {
				l.why = "its stack cannot be read: " + err.Error()
				break
			}
			// A stack labctl cannot find, or one without the instances
			// the state records, is not read right: nothing of the lab
			// is an orphan then.
			if !found && len(nodeIDs) > 0 {
				l.why = "no checkpoint of stack " + l.name + " found in its backend, yet the state has nodes"
				break
			}
			if i := slices.IndexFunc(nodeIDs, func(id string) bool { return !known[id] }); i >= 0 {
				l.why = "its stack does not hold instance " + nodeIDs[i] + ", which the state records"
				break
			}
			l.known = known
		}
		out = append(out, l)
	}
	return out, nil
}

// idKeys are the outputs that hold AWS handles besides a resource's ID:
// an instance's root volume, an Elastic IP's allocation, a key pair's ID.
var idKeys = []string{"volumeId", "allocationId", "keyPairId", "keyName", "id"}

// StackIDs are the AWS handles the stack's last checkpoint in a file
// backend holds, and whether there is a checkpoint (none: a destroyed
// stack, or one never made).
func StackIDs(backend, stack string) (ids map[string]bool, found bool, err error) {
	var paths []string
	for _, pat := range []string{
		filepath.Join(backend, ".pulumi", "stacks", "*", stack+".json"),
		filepath.Join(backend, ".pulumi", "stacks", "*", stack+".json.gz"),
		filepath.Join(backend, ".pulumi", "stacks", stack+".json"),
		filepath.Join(backend, ".pulumi", "stacks", stack+".json.gz"),
	} {
		m, _ := filepath.Glob(pat)
		paths = append(paths, m...)
	}
	ids = map[string]bool{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, false, err
		}
		if strings.HasSuffix(p, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, false, fmt.Errorf("%s: %w", p, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				return nil, false, fmt.Errorf("%s: %w", p, err)
			}
		}
		var cp struct {
			Checkpoint struct {
				Latest *struct {
					Resources []struct {
						ID      string         `json:"id"`
						Outputs map[string]any `json:"outputs"`
					} `json:"resources"`
				} `json:"latest"`
			} `json:"checkpoint"`
		}
		if err := json.Unmarshal(b, &cp); err != nil {
			return nil, false, fmt.Errorf("%s: %w", p, err)
		}
		found = true
		if cp.Checkpoint.Latest == nil {
			continue
		}
		for _, r := range cp.Checkpoint.Latest.Resources {
			if r.ID != "" {
				ids[r.ID] = true
			}
			collectIDs(r.Outputs, ids)
		}
	}
	return ids, found, nil
}

func collectIDs(v any, ids map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && slices.Contains(idKeys, k) && s != "" {
				ids[s] = true
				continue
			}
			collectIDs(x, ids)
		}
	case []any:
		for _, x := range v {
			collectIDs(x, ids)
		}
	}
}

// Keys of the state's provider extras a pulumi lab records at up, so
// that sweep knows where its stack and machines are without the lab file.
const (
	ExtraTarget  = "target"
	ExtraRegion  = "region"
	ExtraBackend = "backend"
	ExtraStack   = "stack"
)

// recordWhere writes the lab's target, region and backend into the state.
func recordWhere(r provision.Request) {
	l := r.Lab
	e := map[string]string{ExtraTarget: l.Provider.Pulumi.Target, ExtraBackend: backendURL(r)}
	if l.Provider.Pulumi.Target == "aws" {
		e[ExtraRegion] = l.Provider.AWS.Region
	}
	if s := l.Provider.Pulumi.Stack; s != "" {
		e[ExtraStack] = s
		e[ExtraBackend] = l.Provider.Pulumi.Backend
	}
	r.State.Provider.Extra = e
}

// HelperCloud is Cloud on AWS, served by labctl-pulumi (which links the
// AWS SDK; labctl does not). Credentials are the AWS SDK's, as for the
// aws target.
type HelperCloud struct {
	Provider *Provider
	Out      io.Writer
}

func (h HelperCloud) request() provision.Request {
	return provision.Request{Lab: &lab.Lab{Name: "sweep"}, Out: h.Out, State: &lab.State{}}
}

func (h HelperCloud) Inventory(ctx context.Context, regions []string) ([]CloudResource, error) {
	if err := awsCredentials(os.Getenv, fileExists); err != nil {
		return nil, err
	}
	res, err := h.Provider.ask(ctx, h.request(), Request{Op: OpInventory, Lab: &lab.Lab{Name: "sweep"}, Regions: regions}, h.Out)
	if err != nil || res == nil {
		return nil, err
	}
	return res.Resources, nil
}

func (h HelperCloud) Delete(ctx context.Context, rs []CloudResource) error {
	_, err := h.Provider.ask(ctx, h.request(), Request{Op: OpDelete, Lab: &lab.Lab{Name: "sweep"}, Resources: rs}, h.Out)
	return err
}
