package artifacts

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The tools have a key of their own: changing how they are made changes
// the tools' and the final entry's keys, never the base's (a cold
// Kubernetes build).
func TestEtcdToolsKeys(t *testing.T) {
	r := testRecipe()
	base, tools := r.Hash(), r.etcdTools()
	if tools.Etcd != r.EtcdModuleVersion() || tools.Arch != r.Arch || tools.GoVersion != r.GoVersion {
		t.Errorf("tools recipe %+v does not follow the base recipe %+v", tools, r)
	}
	if len(tools.hash()) != 20 || tools.hash() != r.etcdTools().hash() {
		t.Errorf("tools hash %q is not stable", tools.hash())
	}
	bumped := tools
	bumped.Version++
	if bumped.hash() == tools.hash() || finalHash(base, bumped.hash()) == finalHash(base, tools.hash()) {
		t.Error("a new tools recipe keeps the tools' or the final entry's key")
	}
	if r.Hash() != base {
		t.Error("the base key moved")
	}
	for _, h := range []string{finalHash(base, tools.hash()), finalHash(base, bumped.hash())} {
		if h == base || len(h) != 20 {
			t.Errorf("final key %q", h)
		}
	}
	other := testRecipe()
	other.Etcd = "3.5.24-0"
	if other.etcdTools().hash() == tools.hash() {
		t.Error("the tools' key ignores the etcd version")
	}
}

// addToImage adds one layer to the etcd image and copies the others as
// they are.
func TestAddToImage(t *testing.T) {
	dir := t.TempDir()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	specs := []imageSpec{
		{tag: "registry.k8s.io/pause:3.10.1", files: map[string]string{"/pause": file("pause", "pause")}, entrypoint: []string{"/pause"}},
		{tag: "registry.k8s.io/etcd:3.6.5-0", files: map[string]string{"/usr/local/bin/etcd": file("etcd", "etcd")}, entrypoint: []string{"/usr/local/bin/etcd"}},
	}
	src := filepath.Join(dir, "images.tar")
	if err := writeImages(specs, "amd64", "", dir, src, created); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "out.tar")
	files := map[string]string{"/usr/local/bin/etcdctl": file("etcdctl", "ctl"), "/usr/local/bin/etcdutl": file("etcdutl", "utl")}
	if err := addToImage(src, dst, dir, "registry.k8s.io/etcd:3.6.5-0", files, created); err != nil {
		t.Fatal(err)
	}
	if err := addToImage(src, filepath.Join(dir, "x.tar"), dir, "registry.k8s.io/etcd:9.9.9-0", files, created); err == nil {
		t.Error("no error for a missing tag")
	}
	before, after := imageFrom(t, src, "registry.k8s.io/pause:3.10.1"), imageFrom(t, dst, "registry.k8s.io/pause:3.10.1")
	if d1, d2 := digest(t, before), digest(t, after); d1 != d2 {
		t.Errorf("pause changed: %s -> %s", d1, d2)
	}
	etcd := imageFrom(t, dst, "registry.k8s.io/etcd:3.6.5-0")
	ls, err := etcd.Layers()
	if err != nil || len(ls) != 3 {
		t.Fatalf("etcd image: %d layers (%v), want skeleton, etcd, tools", len(ls), err)
	}
	got := layerFiles(t, ls[2])
	if !slices.Equal(got, []string{"usr/:dir", "usr/local/:dir", "usr/local/bin/:dir", "usr/local/bin/etcdctl:ctl", "usr/local/bin/etcdutl:utl"}) {
		t.Errorf("tools layer: %v", got)
	}
	cf, err := etcd.ConfigFile()
	if err != nil || !slices.Equal(cf.Config.Entrypoint, []string{"/usr/local/bin/etcd"}) || !slices.Contains(cf.Config.Env, imagePATH) ||
		!strings.Contains(imagePATH, ":/usr/local/bin:") || len(cf.History) != 3 {
		t.Errorf("etcd config %+v (%v)", cf, err)
	}
	// The same inputs make the same images (go-containerregistry writes a
	// multi-image archive in map order, so the archive's bytes may differ;
	// what containerd imports, each image's digest, may not).
	again := filepath.Join(dir, "again.tar")
	if err := addToImage(src, again, dir, "registry.k8s.io/etcd:3.6.5-0", files, created); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"registry.k8s.io/etcd:3.6.5-0", "registry.k8s.io/pause:3.10.1"} {
		if d1, d2 := digest(t, imageFrom(t, dst, tag)), digest(t, imageFrom(t, again, tag)); d1 != d2 {
			t.Errorf("addToImage is not reproducible: %s is %s, then %s", tag, d1, d2)
		}
	}
}

func imageFrom(t *testing.T, path, tag string) v1.Image {
	t.Helper()
	tg, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(path, &tg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digest(t *testing.T, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// layerFiles lists a layer as "path:content" ("path:dir" for directories).
func layerFiles(t *testing.T, l v1.Layer) []string {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeDir {
			out = append(out, h.Name+":dir")
			continue
		}
		b, _ := io.ReadAll(tr)
		if h.Mode&0o111 == 0 {
			t.Errorf("%s is not executable", h.Name)
		}
		out = append(out, h.Name+":"+string(b))
	}
	return out
}

// TestEtcdToolsE2E builds etcdctl and etcdutl for the default Kubernetes
// version for real (through the module proxy; a minute or two on two
// cores) into the real cache, and asks each its version: the server's.
func TestEtcdToolsE2E(t *testing.T) {
	if os.Getenv("LABCTL_E2E") != "1" {
		t.Skip("set LABCTL_E2E=1 to build etcdctl and etcdutl for real")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	b, err := newBuilder(ctx, Options{KubernetesVersion: "1.34.4", CacheDir: os.Getenv("LABCTL_ARTIFACTS_DIR"), Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := b.buildEtcdTools(ctx, b.recipe.etcdTools())
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimPrefix(b.recipe.EtcdModuleVersion(), "v")
	for cmd := range etcdTools {
		if out := run(t, filepath.Join(dir, cmd), "version"); !strings.Contains(out, cmd+" version: "+want) {
			t.Errorf("%s version: %s; want %s", cmd, out, want)
		}
	}
}

// imageHasFiles checks that the image tagged tag in the docker-archive
// path has these files (in any layer).
func imageHasFiles(t *testing.T, path, tag string, files ...string) {
	t.Helper()
	ls, err := imageFrom(t, path, tag).Layers()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			have[h.Name] = true
		}
		rc.Close()
	}
	for _, f := range files {
		if !have[f] {
			t.Errorf("%s in %s has no %s", tag, path, f)
		}
	}
}
