package goimage

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestBuildLocalModule builds a real image from a scratch module, runs the
// binary it contains, and checks the cache: the same inputs reuse the
// archive, a changed source makes a new one.
func TestBuildLocalModule(t *testing.T) {
	mod := t.TempDir()
	write := func(msg string) {
		os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.test/hello\n\ngo 1.22\n"), 0o644)
		os.MkdirAll(filepath.Join(mod, "cmd", "hello"), 0o755)
		os.WriteFile(filepath.Join(mod, "cmd", "hello", "main.go"), []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\""+msg+"\") }\n"), 0o644)
	}
	write("hello one")
	cache := t.TempDir()
	spec := Spec{Ref: "localhost/labctl/hello:test", Dir: mod, Package: "./cmd/hello", Binary: "hello", Args: []string{"--x"},
		Files: map[string][]byte{"/etc/hello.conf": []byte("x=1\n")}}
	ctx := context.Background()
	// A cache-only lookup (up --dry-run) misses and writes nothing.
	if _, err := Build(ctx, spec, Options{CacheDir: cache, CacheOnly: true}); !errors.Is(err, ErrNotCached) {
		t.Fatalf("cache-only lookup of an empty cache: %v", err)
	}
	if left, _ := os.ReadDir(cache); len(left) != 0 {
		t.Fatalf("a cache-only lookup wrote %v", left)
	}
	r1, err := Build(ctx, spec, Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if r1.Cached {
		t.Error("first build reported cached")
	}
	tag, _ := name.NewTag(spec.Ref)
	img, err := tarball.ImageFromPath(r1.Archive, &tag)
	if err != nil {
		t.Fatalf("archive does not hold %s: %v", spec.Ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cf.Config.Entrypoint, " ") + " " + strings.Join(cf.Config.Cmd, " "); got != "/hello --x" {
		t.Errorf("entrypoint+cmd = %q", got)
	}
	if cf.Config.User != "65534:65534" || cf.Architecture != "amd64" {
		t.Errorf("user %q arch %q", cf.Config.User, cf.Architecture)
	}
	// Extract the binary from the image's layers and run it.
	root := t.TempDir()
	layers, _ := img.Layers()
	if len(layers) != 2 {
		t.Fatalf("%d layers, want 2", len(layers))
	}
	rc, _ := layers[1].Uncompressed()
	defer rc.Close()
	untar := exec.Command("tar", "-x", "-C", root)
	untar.Stdin = rc
	if out, err := untar.CombinedOutput(); err != nil {
		t.Fatalf("untar app layer: %v: %s", err, out)
	}
	if out, err := exec.Command(filepath.Join(root, "hello")).Output(); err != nil || strings.TrimSpace(string(out)) != "hello one" {
		t.Errorf("binary from the image printed %q (%v)", out, err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc", "hello.conf")); string(b) != "x=1\n" {
		t.Errorf("extra file = %q", b)
	}

	r2, err := Build(ctx, spec, Options{CacheDir: cache, CacheOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Cached || r2.Archive != r1.Archive {
		t.Errorf("same inputs: cached=%v archive %s vs %s", r2.Cached, r2.Archive, r1.Archive)
	}
	write("hello two")
	r3, err := Build(ctx, spec, Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if r3.Cached || r3.Archive == r1.Archive {
		t.Errorf("changed source reused %s", r3.Archive)
	}
}

func TestBuildRefusesBadSpec(t *testing.T) {
	for _, s := range []Spec{
		{Ref: "Not A Ref", Dir: "/x", Package: ".", Binary: "x"},
		{Ref: "localhost/x:1", Package: ".", Binary: "x"},
		{Ref: "localhost/x:1", Dir: "/x", Module: "m", Version: "v1", Package: ".", Binary: "x"},
	} {
		if _, err := Build(context.Background(), s, Options{CacheDir: t.TempDir()}); err == nil {
			t.Errorf("%+v: no error", s)
		}
	}
}

func TestUntaggedRefGetsRecipeTag(t *testing.T) {
	mod := t.TempDir()
	os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.test/hello\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(mod, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	spec := Spec{Ref: "localhost/labctl/hello", Dir: mod, Package: ".", Binary: "hello"}
	r, err := Build(context.Background(), spec, Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(r.Ref)
	if err != nil || tag.TagStr() == "latest" || len(tag.TagStr()) != 12 {
		t.Fatalf("ref %q: tag %q (%v)", r.Ref, tag.TagStr(), err)
	}
	if _, err := tarball.ImageFromPath(r.Archive, &tag); err != nil {
		t.Errorf("archive lacks %s: %v", r.Ref, err)
	}
	for _, ref := range []string{"localhost/labctl/x:1", "registry.k8s.io/a/b:v0.8.0", "localhost:5000/x:y", "x@sha256:" + strings.Repeat("a", 64)} {
		if !hasTag(ref) {
			t.Errorf("hasTag(%q) = false", ref)
		}
	}
	for _, ref := range []string{"localhost/labctl/x", "localhost:5000/x", "registry.k8s.io/a/b"} {
		if hasTag(ref) {
			t.Errorf("hasTag(%q) = true", ref)
		}
	}
}

// Outside any checkout, a binary built from one still finds its sources.
func TestOwnModuleOutsideTheCheckout(t *testing.T) {
	root, err := OwnModule(context.Background(), t.TempDir(), "github.com/labctl/labctl")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "addons", "netcheck", "cmd", "labctl-netcheck")); err != nil {
		t.Errorf("root %s: %v", root, err)
	}
	if _, err := OwnModule(context.Background(), t.TempDir(), "example.com/not/this"); err == nil {
		t.Error("found a module that is not this one")
	}
}
