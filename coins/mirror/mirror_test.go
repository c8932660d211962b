package mirror

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testLayout writes an OCI layout the way coins/images does: multi-arch
// indexes named by both annotations, one of them under two tags.
func testLayout(t *testing.T, dir string) map[string]v1.ImageIndex {
	t.Helper()
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	indexes := map[string]v1.ImageIndex{}
	for _, repo := range []string{"library/redis", "dockercoins/rng"} {
		idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
		for _, arch := range []string{"amd64", "arm64"} {
			img, err := random.Image(2048, 2)
			if err != nil {
				t.Fatal(err)
			}
			img = mutate.MediaType(img, types.OCIManifestSchema1)
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img,
				Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
		}
		tags := []string{"v0.1"}
		if repo == "library/redis" {
			tags = []string{"7.0", "latest"}
		}
		for _, tag := range tags {
			ref := "docker.io/" + repo + ":" + tag
			indexes[ref] = idx
			if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{
				annotationContainerd: ref, annotationRefName: ref,
			})); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Another registry's image is not docker.io's to serve.
	other, err := random.Image(100, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(other, layout.WithAnnotations(map[string]string{annotationContainerd: "registry.k8s.io/pause:3.10"})); err != nil {
		t.Fatal(err)
	}
	return indexes
}

func startMirror(t *testing.T) (*httptest.Server, map[string]v1.ImageIndex, string) {
	t.Helper()
	dir := t.TempDir()
	indexes := testLayout(t, dir)
	srv := httptest.NewServer(&Server{Dir: dir})
	t.Cleanup(srv.Close)
	return srv, indexes, dir
}

// mirrorRef is ref as a client of the mirror names it.
func mirrorRef(t *testing.T, srv *httptest.Server, repoTag string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://")+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestPullThroughMirrorGivesTheSameDigests(t *testing.T) {
	srv, indexes, _ := startMirror(t)
	for ref, want := range indexes {
		repoTag := strings.TrimPrefix(ref, "docker.io/")
		wantDigest, _ := want.Digest()
		desc, err := remote.Head(mirrorRef(t, srv, repoTag))
		if err != nil {
			t.Fatalf("HEAD %s: %v", repoTag, err)
		}
		if desc.Digest != wantDigest || desc.MediaType != types.OCIImageIndex {
			t.Errorf("HEAD %s: %s %s, want %s %s", repoTag, desc.Digest, desc.MediaType, wantDigest, types.OCIImageIndex)
		}
		idx, err := remote.Index(mirrorRef(t, srv, repoTag))
		if err != nil {
			t.Fatalf("GET %s: %v", repoTag, err)
		}
		if got, _ := idx.Digest(); got != wantDigest {
			t.Errorf("%s: index %s, want %s", repoTag, got, wantDigest)
		}
		// A whole pull of each architecture, the way containerd resolves
		// it: every blob read and checked against its digest.
		for _, arch := range []string{"amd64", "arm64"} {
			img, err := remote.Image(mirrorRef(t, srv, repoTag), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: arch}))
			if err != nil {
				t.Fatalf("%s %s: %v", repoTag, arch, err)
			}
			checkSameImage(t, img, want, arch)
		}
	}
}

// checkSameImage pulls every layer of img and compares it with want's arch.
func checkSameImage(t *testing.T, img v1.Image, want v1.ImageIndex, arch string) {
	t.Helper()
	wm, _ := want.IndexManifest()
	var wantDigest v1.Hash
	for _, d := range wm.Manifests {
		if d.Platform.Architecture == arch {
			wantDigest = d.Digest
		}
	}
	got, err := img.Digest()
	if err != nil || got != wantDigest {
		t.Fatalf("%s: image %s (%v), want %s", arch, got, err, wantDigest)
	}
	if _, err := img.ConfigFile(); err != nil {
		t.Fatalf("%s: config: %v", arch, err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		rc, err := l.Compressed() // verifies the digest on Close
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			t.Fatal(err)
		}
		if err := rc.Close(); err != nil {
			t.Fatalf("%s: layer: %v", arch, err)
		}
	}
}

func TestMirrorRefusesWhatItDoesNotHold(t *testing.T) {
	srv, indexes, _ := startMirror(t)
	rng := indexes["docker.io/dockercoins/rng:v0.1"]
	rm, _ := rng.IndexManifest()
	rngImg, _ := rng.Image(rm.Manifests[0].Digest)
	rngLayers, _ := rngImg.Layers()
	rngLayer, _ := rngLayers[0].Digest()
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/v2/", 200},
		{"GET", "/v2/library/redis/manifests/7.0?ns=docker.io", 200},
		{"HEAD", "/v2/library/redis/manifests/latest", 200},
		{"GET", "/v2/library/redis/manifests/6.2", 404},              // a tag we do not hold
		{"GET", "/v2/dockercoins/worker/manifests/v0.3", 404},        // must never exist
		{"GET", "/v2/library/pause/manifests/3.10", 404},             // another registry's
		{"GET", "/v2/library/redis/blobs/" + rngLayer.String(), 404}, // rng's blob, not redis's
		{"GET", "/v2/dockercoins/rng/blobs/" + rngLayer.String(), 200},
		{"GET", "/v2/dockercoins/rng/blobs/sha256:..%2f..%2findex.json", 404},
		{"GET", "/v2/dockercoins/rng/blobs/../../index.json", 404},
		{"PUT", "/v2/dockercoins/rng/manifests/v0.3", 405},
		{"POST", "/v2/dockercoins/rng/blobs/uploads/", 405},
		{"DELETE", "/v2/dockercoins/rng/manifests/v0.1", 405},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, res.StatusCode, tc.status)
		}
		if res.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" {
			t.Errorf("%s %s: no Docker-Distribution-API-Version header", tc.method, tc.path)
		}
	}
}

func TestMirrorFollowsTheLayout(t *testing.T) {
	srv, _, dir := startMirror(t)
	s := srv.Config.Handler.(*Server)
	names, err := s.Names()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	want := []string{"dockercoins/rng:v0.1", "library/redis:7.0", "library/redis:latest"}
	if !slices.Equal(names, want) {
		t.Fatalf("names %q, want %q", names, want)
	}
	// Replaced by a layout without Redis: no restart needed.
	fresh := t.TempDir()
	lp, err := layout.Write(fresh, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(10, 1)
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{annotationRefName: "docker.io/dockercoins/hasher:v0.1"})); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(fresh, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(mirrorRef(t, srv, "library/redis:latest")); err == nil {
		t.Error("redis:latest still served after the layout lost it")
	}
	if _, err := remote.Head(mirrorRef(t, srv, "dockercoins/hasher:v0.1")); err != nil {
		t.Errorf("the new layout's image: %v", err)
	}
	// No layout at all: 404 (the client moves on to docker.io), not a crash.
	os.RemoveAll(dir)
	res, err := http.Get(srv.URL + "/v2/library/redis/manifests/latest")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("without a layout: %d, want 404", res.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		t.Fatal("layout still there")
	}
}

func TestDockerName(t *testing.T) {
	for ref, want := range map[string]string{
		"docker.io/library/redis:7.0":       "library/redis 7.0",
		"redis:latest":                      "library/redis latest",
		"docker.io/redis:7.0":               "library/redis 7.0",
		"index.docker.io/dockercoins/rng:x": "dockercoins/rng x",
		"dockercoins/rng:v0.1":              "dockercoins/rng v0.1",
		"registry.k8s.io/pause:3.10":        "",
		"localhost:5000/x:y":                "",
		"localhost/x:y":                     "",
		"redis":                             "",
		"redis@sha256:abc":                  "",
		"":                                  "",
	} {
		n, tag, ok := dockerName(ref)
		got := ""
		if ok {
			got = n + " " + tag
		}
		if got != want {
			t.Errorf("dockerName(%q) = %q, want %q", ref, got, want)
		}
	}
}
