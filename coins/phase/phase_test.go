package phase

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labctl/labctl/coins/images"
	"github.com/labctl/labctl/coins/manifests"
	"github.com/labctl/labctl/lab"
	labphase "github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/preload"
	"github.com/labctl/labctl/remote"
)

// node is a remote.Fake whose answers to some exact command lines change
// from one call to the next (a probe before and after an import), and which
// keeps what was sent on stdin.
type node struct {
	*remote.Fake
	mu    sync.Mutex
	seq   map[string][]string // line -> successive stdouts; the last repeats
	calls []string
	stdin map[string][]byte
}

func newNode(host string) *node {
	return &node{Fake: remote.NewFake(host), seq: map[string][]string{}, stdin: map[string][]byte{}}
}

func (n *node) answers(line string, stdouts ...string) *node {
	n.seq[line] = stdouts
	return n
}

func (n *node) Run(ctx context.Context, cmd remote.Command) (remote.Result, error) {
	n.mu.Lock()
	n.calls = append(n.calls, cmd.Line)
	if cmd.Stdin != nil {
		data, _ := io.ReadAll(cmd.Stdin)
		n.stdin[cmd.Line] = data
		cmd.Stdin = bytes.NewReader(data)
	}
	outs, ok := n.seq[cmd.Line]
	if ok {
		out := outs[0]
		if len(outs) > 1 {
			n.seq[cmd.Line] = outs[1:]
		}
		n.mu.Unlock()
		return remote.Result{Stdout: []byte(out)}, nil
	}
	n.mu.Unlock()
	return n.Fake.Run(ctx, cmd)
}

func (n *node) Upload(ctx context.Context, r io.Reader, path string, mode os.FileMode) error {
	n.mu.Lock()
	n.calls = append(n.calls, "upload "+path)
	n.mu.Unlock()
	return n.Fake.Upload(ctx, r, path, mode)
}

func (n *node) Calls() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.calls)
}

var allImages = strings.Join(images.FullRefs(), "\n") + "\n"

// archive writes a stand-in image archive.
func archive(t *testing.T) (string, []byte) {
	data := []byte("an OCI archive")
	p := filepath.Join(t.TempDir(), images.ArchiveName)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, data
}

func newPhase(t *testing.T, cfg Config) *Phase {
	t.Helper()
	if cfg.Archive == "" {
		cfg.Archive, _ = archive(t)
	}
	cfg.MinePoll, cfg.MineTimeout = 5*time.Millisecond, time.Second
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// importImages is preload.Import's import of the DockerCoins archive.
var importImages = func() string {
	s, err := preload.Script(preload.Archive{Path: RemoteArchive, Refs: images.FullRefs()})
	if err != nil {
		panic(err)
	}
	return s
}()

// removeUpload is preload.Import's removal of the uploaded archive.
var removeUpload = "rm -f " + RemoteArchive

var importSteps = []string{listImages, "upload " + RemoteArchive, importImages, removeUpload, listImages}

func TestPreload(t *testing.T) {
	path, data := archive(t)
	missing := newNode("01/node1").answers(listImages, "docker.io/library/busybox:latest\n", allImages)
	missing.On(`^# preload: import `, "", 0).On(`^rm -f `, "", 0)
	partial := newNode("01/node2").answers(listImages, strings.ReplaceAll(allImages, "worker:v0.2", "worker:v0.1x"), allImages)
	partial.On(`^# preload: import `, "", 0).On(`^rm -f `, "", 0)
	present := newNode("02/node1").answers(listImages, allImages)

	var out bytes.Buffer
	p := newPhase(t, Config{Archive: path, Context: on(&out, missing, partial, present)})
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*node{missing, partial} {
		if got := n.Calls(); !slices.Equal(got, importSteps) {
			t.Errorf("%s ran %q, want %q", n.Host, got, importSteps)
		}
		if up, ok := n.Uploaded(RemoteArchive); !ok || !bytes.Equal(up, data) {
			t.Errorf("%s: archive not uploaded to %s", n.Host, RemoteArchive)
		}
	}
	if got := present.Calls(); !slices.Equal(got, []string{listImages}) {
		t.Errorf("node with all images ran %q, want only the probe", got)
	}
	if !strings.Contains(out.String(), "02/node1: DockerCoins images already present") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestPreloadFailures(t *testing.T) {
	good := newNode("01/node1").answers(listImages, "", allImages)
	good.On(`^# preload: import `, "", 0).On(`^rm -f `, "", 0)
	badImport := newNode("02/node1").answers(listImages, "")
	badImport.On(`^# preload: import `, "ctr: content digest sha256:abc: not found", 1).On(`^rm -f `, "", 0)
	lost := newNode("03/node2").OnError(`^ctr `, errors.New("connection reset"))
	stillMissing := newNode("04/node1").answers(listImages, "")
	stillMissing.On(`^# preload: import `, "", 0).On(`^rm -f `, "", 0)

	var mu sync.Mutex
	outcomes := map[int]error{}
	c := on(nil, good, badImport, newNode("03/node1").answers(listImages, allImages), lost, stillMissing)
	c.Record = func(o labphase.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		if o.Phase != "coins" || o.Err != nil && o.Step != "coins" {
			t.Errorf("outcome %+v", o)
		}
		outcomes[o.Cluster] = o.Err
	}
	p := newPhase(t, Config{Context: c})
	err := p.Run(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	// Each cluster's outcome, told once, names only its own failure.
	if len(outcomes) != 4 || outcomes[1] != nil {
		t.Errorf("outcomes: %v", outcomes)
	}
	for _, c := range []int{2, 3, 4} {
		if e := outcomes[c]; e == nil || !strings.HasPrefix(e.Error(), fmt.Sprintf("cluster %02d: %02d/node", c, c)) || strings.Contains(e.Error(), "\n") {
			t.Errorf("cluster %02d's outcome: %v", c, e)
		}
	}
	msg := err.Error()
	for _, want := range []string{
		`cluster 02: 02/node1: "# preload: import /tmp/labctl-dockercoins-images.tar into containerd (namespace k8s.io)`,
		`exited 1: ctr: content digest`,
		`cluster 03: 03/node2: "ctr -n k8s.io images ls -q": connection reset`,
		`cluster 04: 04/node1: the import of /tmp/labctl-dockercoins-images.tar succeeded but "ctr -n k8s.io images ls -q" still lacks`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "cluster 01") {
		t.Errorf("cluster 01 succeeded but is in the error:\n%s", msg)
	}
	var exit *remote.ExitError
	if !errors.As(err, &exit) || exit.Host != "02/node1" {
		t.Errorf("the import failure is not an *remote.ExitError for 02/node1: %v", err)
	}
	if !slices.Equal(good.Calls(), importSteps) {
		t.Errorf("cluster 01 did not complete beside the failures: %q", good.Calls())
	}
	if calls := badImport.Calls(); !slices.Contains(calls, removeUpload) {
		t.Errorf("the upload was not removed after a failed import: %q", calls)
	}
}

func TestNewRejects(t *testing.T) {
	path, _ := archive(t)
	for _, cfg := range []Config{
		{Archive: path, Namespace: "default"},
		{Archive: filepath.Join(t.TempDir(), "none.tar")},
		{Archive: path, Context: labphase.Context{State: &lab.State{Clusters: []lab.Cluster{{Index: 1}}}}},
		{Archive: path, Deploy: true, Context: on(nil, newNode("01/node1"))}, // no API client
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestDryRunOnlyProbes(t *testing.T) {
	n1 := newNode("01/node1").answers(listImages, "")
	n2 := newNode("01/node2").answers(listImages, allImages)
	api := newAPI(t, true)
	p := newPhase(t, Config{Deploy: true, Context: on(nil, n1, n2), Kube: api.kube})
	var out bytes.Buffer
	if err := p.DryRun(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*node{n1, n2} {
		if got := n.Calls(); !slices.Equal(got, []string{listImages}) {
			t.Errorf("%s ran %q in a dry run", n.Host, got)
		}
	}
	for _, want := range []string{"01/node1: would upload", "01/node2: images present", "would deploy DockerCoins in namespace dockercoins"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out.String())
		}
	}
	if a := api.typed.Actions(); len(a) != 0 || len(api.applied) != 0 {
		t.Errorf("a dry run asked the API server: %v, applied %v", a, api.applied)
	}
}

// TestManifestImagesArePreloaded: every image the default manifests deploy
// is in the archive the phase imports (as containerd names it), so that an
// offline node never pulls.
func TestManifestImagesArePreloaded(t *testing.T) {
	preloaded := images.FullRefs()
	for _, d := range manifests.Stack(manifests.Options{Namespace: manifests.DefaultNamespace}) {
		ref := d.Image
		if !strings.Contains(ref, "/") {
			ref = "library/" + ref
		}
		if first, _, _ := strings.Cut(ref, "/"); !strings.ContainsAny(first, ".:") && first != "localhost" {
			ref = "docker.io/" + ref
		}
		if !slices.Contains(preloaded, ref) {
			t.Errorf("%s deploys %s (%s), which the archive lacks: %q", d.Name, d.Image, ref, preloaded)
		}
	}
}
