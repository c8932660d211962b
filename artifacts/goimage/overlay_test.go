package goimage

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestOverlayFillsAnEmbed builds a module whose go:embed directory is
// missing from its sources (as traefik's web UI is from its module zip):
// without the overlay the build fails, with it the binary serves the
// overlaid file.
func TestOverlayFillsAnEmbed(t *testing.T) {
	mod := t.TempDir()
	os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.test/embed\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(mod, "main.go"), []byte(`package main

import (
	"embed"
	"fmt"
)

//go:embed static
var assets embed.FS

func main() {
	b, err := assets.ReadFile("static/index.html")
	fmt.Print(string(b), err)
}
`), 0o644)
	spec := Spec{Ref: "localhost/labctl/embed:test", Dir: mod, Package: ".", Binary: "embed"}
	cache := t.TempDir()
	ctx := context.Background()
	if _, err := Build(ctx, spec, Options{CacheDir: cache}); err == nil || !strings.Contains(err.Error(), "static") {
		t.Fatalf("build without the embedded directory: %v", err)
	}
	spec.Overlay = map[string][]byte{"static/index.html": []byte("overlaid page")}
	r, err := Build(ctx, spec, Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(mod, "static")); err == nil {
		t.Error("the overlay was written into the module's sources")
	}
	tag, _ := name.NewTag(spec.Ref)
	img, err := tarball.ImageFromPath(r.Archive, &tag)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	rc, _ := layers[len(layers)-1].Uncompressed()
	defer rc.Close()
	root := t.TempDir()
	untar := exec.Command("tar", "-x", "-C", root)
	untar.Stdin = rc
	if out, err := untar.CombinedOutput(); err != nil {
		t.Fatalf("untar: %v: %s", err, out)
	}
	if out, err := exec.Command(filepath.Join(root, "embed")).Output(); err != nil || string(out) != "overlaid page<nil>" {
		t.Errorf("binary printed %q (%v)", out, err)
	}

	bad := spec
	bad.Overlay = map[string][]byte{"../escape.go": nil}
	if _, err := Build(ctx, bad, Options{CacheDir: cache}); err == nil || !strings.Contains(err.Error(), "not inside the module") {
		t.Errorf("overlay outside the module: %v", err)
	}
}

// TestOverlayInRecipeOnlyWhenSet: an overlay changes the recipe, and a
// spec without one keeps the recipe it had (cached images stay valid).
func TestOverlayInRecipeOnlyWhenSet(t *testing.T) {
	s := Spec{Ref: "x/y:1", Module: "m", Version: "v1", Package: ".", Binary: "b"}
	plain := s.recipe("go1")
	s.Overlay = map[string][]byte{}
	if s.recipe("go1") != plain {
		t.Error("an empty overlay changed the recipe")
	}
	s.Overlay = map[string][]byte{"a": []byte("1")}
	one := s.recipe("go1")
	s.Overlay = map[string][]byte{"a": []byte("2")}
	if one == plain || s.recipe("go1") == one {
		t.Error("overlay content not in the recipe")
	}
}
