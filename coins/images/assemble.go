package images

import (
	"io/fs"
	"os"
	"path"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/labctl/labctl/artifacts/goimage"
)

// nobody is the worker's user; the servers run as root because they bind
// port 80 and a pod without extra sysctls or capabilities can't otherwise.
const nobody = "65534:65534"

// baseLayer is the whole base image: users for `id`, /etc files the Go
// runtime reads, and a /tmp. Every image shares it.
func baseLayer() (v1.Layer, error) {
	return goimage.Layer([]goimage.Entry{
		{Name: "etc/", Mode: 0o755},
		{Name: "etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")},
		{Name: "etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnogroup:x:65534:\n")},
		{Name: "etc/nsswitch.conf", Mode: 0o644, Data: []byte("hosts: files dns\n")},
		{Name: "tmp/", Mode: 0o1777},
	})
}

// appLayer holds the service binary at /<service>, and for webui its page
// under /files.
func appLayer(t Target, binary string, webFiles fs.FS) (v1.Layer, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	entries := []goimage.Entry{{Name: t.Service, Mode: 0o755, Data: bin}}
	if t.Service == "webui" {
		entries = append(entries, goimage.Entry{Name: "files/", Mode: 0o755})
		err := fs.WalkDir(webFiles, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == "." {
				return err
			}
			if d.IsDir() {
				entries = append(entries, goimage.Entry{Name: path.Join("files", p) + "/", Mode: 0o755})
				return nil
			}
			data, err := fs.ReadFile(webFiles, p)
			entries = append(entries, goimage.Entry{Name: path.Join("files", p), Mode: 0o644, Data: data})
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return goimage.Layer(entries)
}

// image assembles one single-arch image.
func image(t Target, arch string, base, app v1.Layer) (v1.Image, error) {
	cfg := v1.Config{
		Entrypoint: []string{"/" + t.Service},
		WorkingDir: "/",
		User:       "0:0",
		Env:        []string{"PATH=/"},
		Labels: map[string]string{
			"org.opencontainers.image.title":       t.Repo,
			"org.opencontainers.image.version":     t.Tag,
			"org.opencontainers.image.description": "DockerCoins " + t.Service + ", the container.training sample app, in Go",
		},
	}
	if t.Service == "worker" {
		cfg.User = nobody
	} else {
		cfg.ExposedPorts = map[string]struct{}{"80/tcp": {}}
	}
	return goimage.Image(arch, cfg,
		mutate.Addendum{Layer: base, History: v1.History{Created: v1.Time{Time: goimage.Epoch}, CreatedBy: "labctl: base (passwd, group, tmp)", Comment: "built by labctl"}},
		mutate.Addendum{Layer: app, History: v1.History{Created: v1.Time{Time: goimage.Epoch}, CreatedBy: "labctl: go build ./coins/" + t.Service, Comment: "built by labctl"}},
	)
}

// index assembles the multi-arch index of one target.
func index(t Target, binDir string, base v1.Layer, webFiles fs.FS) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range Arches {
		app, err := appLayer(t, binaryName(binDir, t, arch), webFiles)
		if err != nil {
			return nil, err
		}
		img, err := image(t, arch, base, app)
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	return idx, nil
}
