package goimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Epoch is every timestamp in labctl's images: same inputs, same digests.
// (Not 1970, which `docker images` shows as "56 years ago".)
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Entry is one file, directory (Name ends with "/") or symbolic link
// (Link set, Data empty) of a layer.
type Entry struct {
	Name     string // no leading slash
	Mode     int64
	Data     []byte
	Link     string
	UID, GID int
}

// Layer is a gzip-compressed OCI layer of entries, in order, dated Epoch:
// the one layer writer of the images labctl assembles itself (helpers,
// DockerCoins, Redis).
func Layer(entries []Entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.Name, Mode: e.Mode, Uid: e.UID, Gid: e.GID, ModTime: Epoch, Format: tar.FormatPAX}
		switch {
		case e.Name[len(e.Name)-1] == '/':
			hdr.Typeflag = tar.TypeDir
		case e.Link != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.Link
		default:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.Data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.Data); err != nil {
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

// Image is a single-arch OCI image for linux/arch: layers (each with its
// history line) on nothing, created at Epoch, running config.
func Image(arch string, config v1.Config, layers ...mutate.Addendum) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.Append(img, layers...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: Epoch}
	cf.Config = config
	return mutate.ConfigFile(img, cf)
}
