package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// A dry run prints the plan and changes nothing: not even the cluster
// keys nodeprep generates to render its scripts.
func TestDryRunWritesNoState(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	store, err := lab.Open(dir, "i10a-dry", 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	s := &lab.State{Lab: "i10a-dry", Provider: lab.ProviderState{Type: "inventory"}, Clusters: []lab.Cluster{{
		Index: 1, Login: lab.Login{User: "k8s", Password: "abcde-fghjk-mnpqr"},
		Nodes: []lab.Node{{Name: "node1", PublicAddress: "127.0.0.1", PrivateAddress: "127.0.0.1", Port: 1}},
	}}}
	if err := store.Save(s); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	l, err := lab.Parse("lab.yaml", []byte("name: i10a-dry\nprovider: {type: inventory, clusters: [[{address: 127.0.0.1, port: 1}]]}\nkubernetes: {cni: bridge}\n"))
	if err != nil {
		t.Fatal(err)
	}
	u := &Up{
		Lab: l, State: s, Store: store, Provider: &countingProvider{}, Out: &bytes.Buffer{},
		Only: "nodeprep", DryRun: true,
		Engine: func(pin func(remote.Host, string) error) (*remote.Engine, error) {
			return remote.NewEngine(remote.Config{User: "root", DialTimeout: 200 * time.Millisecond, RetryWindow: time.Millisecond, Pin: pin}), nil
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = u.Run(ctx) // the node does not answer: the plan says so
	after, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	if !bytes.Equal(before, after) {
		t.Fatalf("a dry run changed the state:\n%s", after)
	}
}
