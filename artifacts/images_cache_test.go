package artifacts

import (
	"archive/tar"
	"io"
	"os"
	"path"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestImagesRebuildCache rebuilds the images.tar of every entry of the
// real artifact cache from what that archive holds (the binaries, the
// Debian layer, the date) and wants every image's digest back: today's
// writer makes the images the cache's builds made.
func TestImagesRebuildCache(t *testing.T) {
	if os.Getenv("LABCTL_E2E") != "1" {
		t.Skip("set LABCTL_E2E=1 to rebuild the real cache's images")
	}
	root, err := DefaultCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "*", "manifest.json"))
	if len(dirs) == 0 {
		// In CI, TestBuildE2E (build_e2e_test.go, run before this file's
		// tests) has just filled the cache: none means something broke.
		if os.Getenv("CI") == "true" {
			t.Fatal("no artifact cache under " + root + " after TestBuildE2E")
		}
		t.Skip("no artifact cache under " + root)
	}
	for _, mf := range dirs {
		m, err := readManifest(filepath.Dir(mf))
		if err != nil {
			t.Fatal(err)
		}
		m.Dir = filepath.Dir(mf)
		t.Run(m.RecipeHash, func(t *testing.T) { rebuild(t, m) })
	}
}

func rebuild(t *testing.T, m *Manifest) {
	archive, work := m.Path("images.tar"), t.TempDir()
	specs := imageSpecs(m.Recipe, work)
	var created v1.Time
	debianTar := filepath.Join(work, "debian.tar")
	for _, s := range specs {
		img := imageFrom(t, archive, s.tag)
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		created = cf.Created
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		if s.debianBase {
			extract(t, ls[0], debianTar, "")
		}
		// The binaries layer: the second (the base entry) or the one
		// before the tools (an entry with the etcd tools).
		extract(t, ls[1], "", work)
	}
	src := filepath.Join(work, "rebuilt.tar")
	if err := writeImages(specs, m.Recipe.Arch, debianTar, work, src, created.Time); err != nil {
		t.Fatal(err)
	}
	out := src
	if m.Base != "" {
		etcd := specs[6].tag
		ls, err := imageFrom(t, archive, etcd).Layers()
		if err != nil || len(ls) != 3 {
			t.Fatalf("%s in %s: %d layers (%v)", etcd, archive, len(ls), err)
		}
		tools := filepath.Join(work, "tools")
		extract(t, ls[2], "", tools)
		files := map[string]string{}
		for cmd := range etcdTools {
			files["/usr/local/bin/"+cmd] = filepath.Join(tools, cmd)
		}
		out = filepath.Join(work, "with-tools.tar")
		if err := addToImage(src, out, work, etcd, files, created.Time); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range specs {
		was, now := digest(t, imageFrom(t, archive, s.tag)), digest(t, imageFrom(t, out, s.tag))
		if was != now {
			t.Errorf("%s: %s in the cache, %s rebuilt", s.tag, was, now)
		} else {
			t.Logf("%s %s", now, s.tag)
		}
	}
	if was, now := member(t, archive, "manifest.json"), member(t, out, "manifest.json"); was != now {
		t.Errorf("manifest.json: sha256 %s in the cache, %s rebuilt", was, now)
	} else {
		t.Logf("manifest.json sha256 %s", now)
	}
}

// extract writes the layer's uncompressed tar to file, or its regular
// files by base name into dir.
func extract(t *testing.T, l v1.Layer, file, dir string) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if file != "" {
		f, err := os.Create(file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := io.Copy(f, rc); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, path.Base(h.Name)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.Copy(f, tr)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}
