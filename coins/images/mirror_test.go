package images

import (
	"debug/elf"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/labctl/labctl/coins/mirror"
)

// checkMirrorBinaries: one static executable of the right machine per arch.
func checkMirrorBinaries(t *testing.T, bins map[string]string) {
	t.Helper()
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for _, arch := range Arches {
		f, err := elf.Open(bins[arch])
		if err != nil {
			t.Errorf("mirror binary for %s: %v", arch, err)
			continue
		}
		if f.Machine != machines[arch] {
			t.Errorf("%s: machine %s, want %s", bins[arch], f.Machine, machines[arch])
		}
		if interp := f.Section(".interp"); interp != nil {
			t.Errorf("%s is dynamically linked", bins[arch])
		}
		f.Close()
	}
}

// pullThroughMirror serves the built layout with labctl's mirror and pulls
// every image of every tag through it, as a node's containerd would: the
// digests must be the ones the layout (and so containerd's import) has.
func pullThroughMirror(t *testing.T, res *Result) {
	srv := httptest.NewServer(&mirror.Server{Dir: res.Layout})
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, img := range res.Images {
		path := strings.TrimPrefix(img.Ref, "docker.io/")
		ref, err := name.ParseReference(host+"/"+path, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		pulled, err := remote.Image(ref, remote.WithPlatform(v1.Platform{OS: "linux", Architecture: img.Arch}))
		if err != nil {
			t.Fatalf("pull %s (%s) through the mirror: %v", img.Ref, img.Arch, err)
		}
		if d, err := pulled.Digest(); err != nil || d.String() != img.Digest {
			t.Errorf("%s %s through the mirror: %s %v, want %s", img.Ref, img.Arch, d, err, img.Digest)
		}
		layers, err := pulled.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range layers {
			rc, err := l.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			_, err = io.Copy(io.Discard, rc)
			if cerr := rc.Close(); err == nil {
				err = cerr // the digest check happens on Close
			}
			if err != nil {
				t.Errorf("%s %s: layer: %v", img.Ref, img.Arch, err)
			}
		}
	}
	// The deck's --image=redis, the way clients spell it.
	ref, _ := name.ParseReference(host+"/library/redis", name.Insecure)
	if _, err := remote.Head(ref); err != nil {
		t.Errorf("redis (latest) through the mirror: %v", err)
	}
}
