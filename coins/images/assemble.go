package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"path"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is every timestamp in the images: same inputs, same digests. (Not
// 1970, which `docker images` shows as "56 years ago".)
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// nobody is the worker's user; the servers run as root because they bind
// port 80 and a pod without extra sysctls or capabilities can't otherwise.
const nobody = "65534:65534"

// entry is one file or directory of a layer.
type entry struct {
	name     string // no leading slash; directories end with "/"
	mode     int64
	data     []byte
	link     string // a symbolic link to link (then data is empty)
	uid, gid int
}

// layer makes a gzip-compressed OCI layer of entries, in order.
func layer(entries []entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: epoch, Format: tar.FormatPAX}
		switch {
		case e.name[len(e.name)-1] == '/':
			hdr.Typeflag = tar.TypeDir
		case e.link != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.link
		default:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithCompressionLevel(gzip.BestCompression), tarball.WithMediaType(types.OCILayer))
}

// baseLayer is the whole base image: users for `id`, /etc files the Go
// runtime reads, and a /tmp. Every image shares it.
func baseLayer() (v1.Layer, error) {
	return layer([]entry{
		{name: "etc/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnogroup:x:65534:\n")},
		{name: "etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		{name: "tmp/", mode: 0o1777},
	})
}

// appLayer holds the service binary at /<service>, and for webui its page
// under /files.
func appLayer(t Target, binary string, webFiles fs.FS) (v1.Layer, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	entries := []entry{{name: t.Service, mode: 0o755, data: bin}}
	if t.Service == "webui" {
		entries = append(entries, entry{name: "files/", mode: 0o755})
		err := fs.WalkDir(webFiles, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == "." {
				return err
			}
			if d.IsDir() {
				entries = append(entries, entry{name: path.Join("files", p) + "/", mode: 0o755})
				return nil
			}
			data, err := fs.ReadFile(webFiles, p)
			entries = append(entries, entry{name: path.Join("files", p), mode: 0o644, data: data})
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return layer(entries)
}

// image assembles one single-arch image.
func image(t Target, arch string, base, app v1.Layer) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "labctl: base (passwd, group, tmp)", Comment: "built by labctl"}},
		mutate.Addendum{Layer: app, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "labctl: go build ./coins/" + t.Service, Comment: "built by labctl"}},
	)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: epoch}
	cf.Config = v1.Config{
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
		cf.Config.User = nobody
	} else {
		cf.Config.ExposedPorts = map[string]struct{}{"80/tcp": {}}
	}
	return mutate.ConfigFile(img, cf)
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
