package goimage

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// The helper, DockerCoins and Redis images are cached by recipe: the bytes
// Layer and Image write for fixed entries are pinned.
func TestOCIPinned(t *testing.T) {
	l, err := Layer([]Entry{
		{Name: "etc/", Mode: 0o755},
		{Name: "etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/sbin/nologin\n")},
		{Name: "tmp/", Mode: 0o1777},
		{Name: "usr/bin/sh", Mode: 0o777, Link: "dash"},
		{Name: "app", Mode: 0o755, Data: []byte("#!app\n"), UID: 65534, GID: 65534},
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := Image("arm64", v1.Config{Entrypoint: []string{"/app"}, Env: []string{"PATH=/"}},
		mutate.Addendum{Layer: l, History: v1.History{Created: v1.Time{Time: Epoch}, CreatedBy: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	ld, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	id, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if ld.String() != "sha256:ddfaa6e8ec217df9a4956ad7dd63810102cc2077cb76c5425c38b509167f15b4" ||
		id.String() != "sha256:e7fc570f4e5e6247b50ea23081c50c0d646772f9596ddcf716ed9eb3a5c547dd" {
		t.Errorf("layer %s, image %s: not the pinned bytes", ld, id)
	}
}
