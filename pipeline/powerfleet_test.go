package pipeline

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
)

// fleetProvider stops and starts a whole lab in one call, as the pulumi
// provider's aws target does.
type fleetProvider struct {
	calls  [][]int // the clusters of each call
	seen   []int   // the clusters the state of each call had
	refuse error
	fail   error
}

func (f *fleetProvider) Provision(context.Context, provision.Request) error { return nil }
func (f *fleetProvider) Destroy(context.Context, provision.Request) error   { return nil }
func (f *fleetProvider) Identity(provision.Request) string                  { return "" }
func (f *fleetProvider) PowerPlan(*lab.Lab, *lab.State) (bool, error) {
	return f.refuse == nil, f.refuse
}
func (f *fleetProvider) Stop(_ context.Context, r provision.Request) error  { return f.power(r) }
func (f *fleetProvider) Start(_ context.Context, r provision.Request) error { return f.power(r) }

func (f *fleetProvider) power(r provision.Request) error {
	f.calls = append(f.calls, slices.Clone(r.Clusters))
	f.seen = nil
	for _, c := range r.State.Clusters {
		f.seen = append(f.seen, c.Index)
	}
	if f.fail != nil {
		return f.fail
	}
	for _, n := range r.Clusters {
		r.State.Cluster(n).Nodes[0].PublicAddress = "198.51.100.9" // as read back from the stack
	}
	return nil
}

func fleetLab(t *testing.T) (*Power, *fleetProvider, *bytes.Buffer) {
	t.Helper()
	store, err := lab.Open(t.TempDir(), "fleet", 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s := &lab.State{Lab: "class", Provider: lab.ProviderState{Type: "pulumi"}}
	for i := 1; i <= 3; i++ {
		s.Clusters = append(s.Clusters, lab.Cluster{Index: i, Nodes: []lab.Node{{Name: "node1", PublicAddress: "198.51.100.1"}}})
	}
	f := &fleetProvider{}
	var out bytes.Buffer
	return &Power{Lab: &lab.Lab{Name: "class", Provider: lab.ProviderSpec{Type: "pulumi"}}, State: s, Store: store,
		Provider: f, Out: &out, Parallel: 8}, f, &out
}

// One call for the selected clusters, with the whole state: the provider
// knows which others are stopped. The state records what came back.
func TestStopFleetInOneCall(t *testing.T) {
	p, f, out := fleetLab(t)
	p.Clusters = []int{3, 1}
	if err := p.Stop(t.Context()); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !slices.Equal(f.calls[0], []int{1, 3}) || len(f.calls) != 1 || !slices.Equal(f.seen, []int{1, 2, 3}) {
		t.Errorf("calls %v with state clusters %v; want one call for [1 3] seeing [1 2 3]", f.calls, f.seen)
	}
	for _, c := range p.State.Clusters {
		stopped := c.Index != 2
		if c.Stopped() != stopped || (c.Nodes[0].PublicAddress == "198.51.100.9") != stopped {
			t.Errorf("cluster %d: stopped %v, node %+v", c.Index, c.Stopped(), c.Nodes[0])
		}
	}
	saved, err := lab.ReadState(p.Store.Dir())
	if err != nil || !saved.Cluster(1).Stopped() || saved.Cluster(2).Stopped() {
		t.Errorf("saved state: %+v, %v", saved, err)
	}
	if !strings.Contains(out.String(), "cluster 03: stopped in") {
		t.Errorf("report:\n%s", out)
	}
}

// A failed call fails every selected cluster and records nothing: a
// re-run finishes the stop.
func TestStopFleetFails(t *testing.T) {
	p, f, out := fleetLab(t)
	f.fail = errors.New("pulumi up: boom")
	err := p.Stop(t.Context())
	if err == nil || !strings.Contains(err.Error(), "3 of 3 clusters failed to stop") {
		t.Errorf("%v", err)
	}
	for _, c := range p.State.Clusters {
		if c.Stopped() {
			t.Errorf("cluster %d recorded stopped", c.Index)
		}
	}
	if !strings.Contains(out.String(), "FAILED to stop: pulumi up: boom") {
		t.Errorf("report:\n%s", out)
	}
}

// A lab the provider refuses is bad input, before any call.
func TestStopFleetRefused(t *testing.T) {
	p, f, _ := fleetLab(t)
	f.refuse = errors.New("provider.aws.addresses: ephemeral: ...")
	err := p.Stop(t.Context())
	if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "provider.aws.addresses") || len(f.calls) > 0 {
		t.Errorf("%v, %d calls", err, len(f.calls))
	}
}
