package pipeline

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// A dry run on a machine whose caches are empty builds nothing: every
// heavy build is a titled step of the build phase that says it would
// build, the build comes before provision, and nothing is written to
// the caches.
func TestDryRunBuildsNothing(t *testing.T) {
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOCACHE", strings.TrimSpace(string(gocache))) // go's own cache stays where it is
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	dir := filepath.Join(t.TempDir(), "state")
	store, err := lab.Open(dir, "i10a-nobuild", 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	s := &lab.State{Lab: "i10a-nobuild", Provider: lab.ProviderState{Type: "inventory"}}
	l, err := lab.Parse("lab.yaml", []byte("name: i10a-nobuild\nprovider: {type: inventory, clusters: [[{address: 127.0.0.1, port: 1}]]}\nkubernetes: {cni: bridge, source: cache}\nwebterm: {enabled: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	src, _ := filepath.Abs("..")
	u := &Up{Lab: l, State: s, Store: store, Provider: &countingProvider{}, Out: &out, DryRun: true, SourceDir: src}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := u.Run(ctx); err != nil {
		t.Fatalf("dry run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []string{
		"==> build (each cached by its recipe",
		"    Kubernetes " + l.Kubernetes.Version + " artifact cache (built once per version; the first build takes about 20 minutes): would build (",
		"    attendee tools (helm, stern, ...): would build (tools: not in the cache)",
		"    web terminal (agent and xterm.js): would build (",
		"    add-on images (netcheck, netpol): would build (",
		"    DockerCoins images: would build (",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the dry run did not print %q:\n%s", want, got)
		}
	}
	if b, p := strings.Index(got, "==> build"), strings.Index(got, "==> provision"); b < 0 || p < b {
		t.Errorf("the build must come before provision:\n%s", got)
	}
	var written []string
	filepath.WalkDir(cache, func(path string, d os.DirEntry, err error) error {
		if path != cache {
			written = append(written, path)
		}
		return nil
	})
	if len(written) > 0 {
		t.Errorf("a dry run wrote to the caches: %v", written)
	}
}
