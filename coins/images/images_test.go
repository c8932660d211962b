package images

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

const maxCompressed = 15_000_000

// TestBuild builds every image once and checks tags, arches, config, sizes
// and that the archive is a valid, complete OCI layout.
func TestBuild(t *testing.T) {
	ctx := context.Background()
	moduleDir, err := FindModule(ctx, ".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	start := time.Now()
	res, err := Build(ctx, Options{Dir: dir, ModuleDir: moduleDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built in %s:\n%s", time.Since(start).Round(time.Second), Summary(res.Images))
	if res.Cached {
		t.Error("first build reported as cached")
	}

	var refs []string
	byRef := map[string][]Image{}
	for _, img := range res.Images {
		if len(byRef[img.Ref]) == 0 {
			refs = append(refs, img.Ref)
		}
		byRef[img.Ref] = append(byRef[img.Ref], img)
	}
	want := []string{
		"docker.io/dockercoins/rng:v0.1", "docker.io/dockercoins/hasher:v0.1", "docker.io/dockercoins/worker:v0.1",
		"docker.io/dockercoins/webui:v0.1", "docker.io/dockercoins/worker:v0.2",
	}
	if !slices.Equal(refs, want) {
		t.Fatalf("tags %q, want exactly %q", refs, want)
	}
	for ref, imgs := range byRef {
		if strings.HasSuffix(ref, ":latest") || strings.HasSuffix(ref, ":v0.3") {
			t.Errorf("forbidden tag %s", ref)
		}
		var arches []string
		for _, img := range imgs {
			arches = append(arches, img.Arch)
			service := strings.TrimPrefix(strings.Split(ref, ":")[0], "docker.io/dockercoins/")
			if !slices.Equal(img.Entrypoint, []string{"/" + service}) {
				t.Errorf("%s %s: entrypoint %q", ref, img.Arch, img.Entrypoint)
			}
			wantPorts, wantUser := []string{"80/tcp"}, "0:0"
			if service == "worker" {
				wantPorts, wantUser = nil, "65534:65534"
			}
			if !slices.Equal(img.ExposedPorts, wantPorts) || img.User != wantUser {
				t.Errorf("%s %s: ports %q user %q, want %q %q", ref, img.Arch, img.ExposedPorts, img.User, wantPorts, wantUser)
			}
			if img.Compressed <= 1_000_000 || img.Compressed >= maxCompressed {
				t.Errorf("%s %s: %s compressed, want between 1 and 15 MB", ref, img.Arch, FormatSize(img.Compressed))
			}
		}
		if !slices.Equal(arches, Arches) {
			t.Errorf("%s: arches %q, want %q", ref, arches, Arches)
		}
	}
	// v0.1 and v0.2 of the worker differ (the first sleep is built in).
	if byRef[want[2]][0].Digest == byRef[want[4]][0].Digest {
		t.Error("worker v0.1 and v0.2 are the same image")
	}

	checkArchive(t, res.Archive)
	t.Run("podman", func(t *testing.T) { podmanPull(t, res.Archive, want) })
	checkFiles(t, res.Layout, "docker.io/dockercoins/webui:v0.1", []string{"webui", "files/index.html", "files/webui.js", "files/webui.css", "files/favicon.svg", "etc/passwd"})
	checkFiles(t, res.Layout, "docker.io/dockercoins/worker:v0.2", []string{"worker", "etc/passwd", "tmp/"})

	// Same inputs: nothing rebuilt.
	again, err := Build(ctx, Options{Dir: dir, ModuleDir: moduleDir})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || len(again.Images) != len(res.Images) {
		t.Errorf("second build: cached=%v with %d images, want a cached %d", again.Cached, len(again.Images), len(res.Images))
	}
}

// checkArchive unpacks the tar that nodes import and validates it as an OCI
// layout: every blob present, digests and sizes right, configs consistent.
func checkArchive(t *testing.T, archive string) {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	names := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names[hdr.Name] = true
		dst := filepath.Join(dir, filepath.FromSlash(hdr.Name))
		if hdr.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, must := range []string{"oci-layout", "index.json"} {
		if !names[must] {
			t.Errorf("archive has no %s at its root (containerd's importer needs it)", must)
		}
	}
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Index(idx); err != nil {
		t.Errorf("archive does not validate: %v", err)
	}
}

// podmanPull loads every tag from the archive with podman (containers/image,
// a second implementation of OCI archives) into a throw-away storage.
func podmanPull(t *testing.T, archive string, refs []string) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Skip("podman not installed: the archive is checked with go-containerregistry only")
	}
	store := t.TempDir()
	base := []string{"--root", filepath.Join(store, "root"), "--runroot", filepath.Join(store, "run"), "--storage-driver", "vfs"}
	for _, ref := range refs {
		args := append(slices.Clone(base), "pull", "-q", "oci-archive:"+archive+":"+ref)
		if out, err := exec.Command(podman, args...).CombinedOutput(); err != nil {
			t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		args = append(slices.Clone(base), "image", "inspect", "--format", "{{.Config.Entrypoint}} {{.Os}}/{{.Architecture}}", ref)
		// podman picks the image of the machine's architecture.
		out, err := exec.Command(podman, args...).CombinedOutput()
		service := strings.TrimPrefix(strings.Split(ref, ":")[0], "docker.io/dockercoins/")
		if want := "[/" + service + "] linux/" + runtime.GOARCH + "\n"; err != nil || string(out) != want {
			t.Errorf("podman image inspect %s: %q %v, want %q", ref, out, err, want)
		}
	}
}

// checkFiles checks that the amd64 image of ref has the given paths.
func checkFiles(t *testing.T, layoutDir, ref string, paths []string) {
	t.Helper()
	lp, err := layout.FromPath(layoutDir)
	if err != nil {
		t.Fatal(err)
	}
	top, _ := lp.ImageIndex()
	im, _ := top.IndexManifest()
	for _, d := range im.Manifests {
		if d.Annotations[AnnotationImageName] != ref {
			continue
		}
		idx, err := top.ImageIndex(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		children, _ := idx.IndexManifest()
		img, err := idx.Image(children.Manifests[0].Digest)
		if err != nil {
			t.Fatal(err)
		}
		layers, _ := img.Layers()
		have := map[string]bool{}
		for _, l := range layers {
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			tr := tar.NewReader(rc)
			for hdr, err := tr.Next(); err == nil; hdr, err = tr.Next() {
				have[hdr.Name] = true
			}
			rc.Close()
		}
		for _, p := range paths {
			if !have[p] {
				t.Errorf("%s: no %s in the image", ref, p)
			}
		}
		return
	}
	t.Errorf("%s not in the layout", ref)
}
