package goimage

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Assets land in the image under their directory; Make runs only when the
// image is built, and a changed recipe makes another image.
func TestBuildWithAssets(t *testing.T) {
	mod := t.TempDir()
	os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.test/ui\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(mod, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644)
	made := 0
	ui := t.TempDir()
	os.MkdirAll(filepath.Join(ui, "app", "assets"), 0o755)
	os.WriteFile(filepath.Join(ui, "app", "index.html"), []byte("<html>ui</html>"), 0o644)
	os.WriteFile(filepath.Join(ui, "app", "assets", "a.js"), []byte("js"), 0o644)
	assets := &Assets{Dir: "/static", Recipe: "r1", Make: func(ctx context.Context, cacheDir string, log io.Writer) (string, error) {
		made++
		return ui, nil
	}}
	spec := Spec{Ref: "localhost/labctl/ui:1", Dir: mod, Package: ".", Binary: "ui", Assets: assets}
	cache := t.TempDir()
	r, err := Build(context.Background(), spec, Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(spec.Ref)
	img, err := tarball.ImageFromPath(r.Archive, &tag)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	rc, _ := layers[1].Uncompressed()
	defer rc.Close()
	root := t.TempDir()
	untar := exec.Command("tar", "-x", "-C", root)
	untar.Stdin = rc
	if out, err := untar.CombinedOutput(); err != nil {
		t.Fatalf("untar: %v: %s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "static", "app", "index.html")); string(b) != "<html>ui</html>" {
		t.Errorf("index.html in the image: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "static", "app", "assets", "a.js")); string(b) != "js" {
		t.Errorf("a.js in the image: %q", b)
	}
	if _, err := Build(context.Background(), spec, Options{CacheDir: cache}); err != nil || made != 1 {
		t.Errorf("second build: made the assets %d times (%v)", made, err)
	}
	spec.Ref = "localhost/labctl/ui:2"
	assets.Make = func(context.Context, string, io.Writer) (string, error) { return "", errors.New("npm failed") }
	if _, err := Build(context.Background(), spec, Options{CacheDir: cache}); err == nil {
		t.Error("a failed asset build made an image")
	}
}
