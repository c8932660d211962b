package goimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
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
	// File, when set, is the host file whose bytes the entry holds
	// (instead of Data), read as the layer is written: binaries of a
	// hundred MB stay out of memory.
	File string
}

// Format is how one family of images is written: the one layer and
// config writer of every image labctl assembles itself. Their caches are
// keyed by recipe, so each family's bytes are pinned by tests.
type Format struct {
	// Docker: Docker schema 2 media types; otherwise OCI.
	Docker bool
	// Level is the layers' gzip level.
	Level int
	// Created dates every tar entry, the config and (by the callers) the
	// history lines.
	Created time.Time
}

// OCI is the format of the helper, DockerCoins and Redis images.
var OCI = Format{Level: gzip.BestCompression, Created: Epoch}

// Docker is the format of the Kubernetes images of the artifact cache,
// dated created (the Kubernetes module's time): go-containerregistry's
// defaults for Docker archives.
func Docker(created time.Time) Format {
	return Format{Docker: true, Level: gzip.BestSpeed, Created: created}
}

// Layer is OCI.Layer.
func Layer(entries []Entry) (v1.Layer, error) { return OCI.Layer(entries) }

// Image is OCI.Image.
func Image(arch string, config v1.Config, layers ...mutate.Addendum) (v1.Image, error) {
	return OCI.Image(arch, config, layers...)
}

// WriteTar writes entries, in order, as a tar stream dated f.Created.
func (f Format) WriteTar(w io.Writer, entries []Entry) error {
	tw := tar.NewWriter(w)
	// Whole seconds: a sub-second date would take a PAX record.
	mtime := f.Created.Round(time.Second)
	for _, e := range entries {
		if e.Name == "" {
			return errors.New("layer entry without a name")
		}
		hdr := &tar.Header{Name: e.Name, Mode: e.Mode, Uid: e.UID, Gid: e.GID, ModTime: mtime, Format: tar.FormatPAX}
		switch {
		case e.Name[len(e.Name)-1] == '/':
			hdr.Typeflag = tar.TypeDir
		case e.Link != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.Link
		case e.File != "":
			if err := copyFile(tw, hdr, e.File); err != nil {
				return fmt.Errorf("layer entry %s: %w", e.Name, err)
			}
			continue
		default:
			hdr.Typeflag = tar.TypeReg
			hdr.Size = int64(len(e.Data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(e.Data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// copyFile writes the regular file path under hdr; one that changes size
// while it is read fails the write.
func copyFile(tw *tar.Writer, hdr *tar.Header, path string) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, src)
	return err
}

// Layer is a gzip-compressed layer of entries, held in memory.
func (f Format) Layer(entries []Entry) (v1.Layer, error) {
	var buf bytes.Buffer
	if err := f.WriteTar(&buf, entries); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, f.options()...)
}

// LayerFile is Layer with the tar written to path, which must stay
// until the image is written.
func (f Format) LayerFile(path string, entries []Entry) (v1.Layer, error) {
	out, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	err = f.WriteTar(out, entries)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f.TarLayer(path)
}

// TarLayer is the uncompressed tar at path (made elsewhere, e.g. by
// debootstrap) as a layer of this format.
func (f Format) TarLayer(path string) (v1.Layer, error) {
	return tarball.LayerFromFile(path, f.options()...)
}

// options compress once: the digest and the archive share the bytes.
func (f Format) options() []tarball.LayerOption {
	mt := types.OCILayer
	if f.Docker {
		mt = types.DockerLayer
	}
	return []tarball.LayerOption{tarball.WithCompressionLevel(f.Level), tarball.WithMediaType(mt), tarball.WithCompressedCaching}
}

// Image is a single-arch image for linux/arch: layers (each with its
// history line) on nothing, created at f.Created, running config.
func (f Format) Image(arch string, config v1.Config, layers ...mutate.Addendum) (v1.Image, error) {
	img := empty.Image // Docker schema 2
	if !f.Docker {
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	}
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
	cf.Created = v1.Time{Time: f.Created}
	cf.Config = config
	return mutate.ConfigFile(img, cf)
}

// History is a history line dated f.Created.
func (f Format) History(createdBy string) v1.History {
	return v1.History{Created: v1.Time{Time: f.Created}, CreatedBy: createdBy}
}
