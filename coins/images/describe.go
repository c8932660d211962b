package images

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Image describes one single-arch image of a build.
type Image struct {
	Ref          string // docker.io/dockercoins/rng:v0.1
	Arch         string
	Digest       string // of the image manifest
	Compressed   int64  // bytes: config plus compressed layers, what a pull transfers
	Entrypoint   []string
	User         string
	ExposedPorts []string
}

// Describe reads an OCI layout written by Build back, one entry per tag and
// architecture.
func Describe(layoutDir string) ([]Image, error) {
	lp, err := layout.FromPath(layoutDir)
	if err != nil {
		return nil, err
	}
	top, err := lp.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := top.IndexManifest()
	if err != nil {
		return nil, err
	}
	var out []Image
	for _, desc := range im.Manifests {
		ref := desc.Annotations[AnnotationImageName]
		idx, err := top.ImageIndex(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		children, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		for _, child := range children.Manifests {
			img, err := idx.Image(child.Digest)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ref, err)
			}
			m, err := img.Manifest()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ref, err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ref, err)
			}
			size := m.Config.Size
			for _, l := range m.Layers {
				size += l.Size
			}
			var ports []string
			for p := range cf.Config.ExposedPorts {
				ports = append(ports, p)
			}
			slices.Sort(ports)
			arch := ""
			if child.Platform != nil {
				arch = child.Platform.Architecture
			}
			out = append(out, Image{Ref: ref, Arch: arch, Digest: child.Digest.String(), Compressed: size,
				Entrypoint: cf.Config.Entrypoint, User: cf.Config.User, ExposedPorts: ports})
		}
	}
	return out, nil
}

// FormatSize prints bytes as MB with one decimal (1 MB = 10^6 bytes, as
// registries count).
func FormatSize(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// Summary is one line per image: tag, arch, compressed size.
func Summary(imgs []Image) string {
	var b strings.Builder
	for _, img := range imgs {
		fmt.Fprintf(&b, "%-36s %-6s %8s  %s\n", img.Ref, img.Arch, FormatSize(img.Compressed), img.Digest[:19])
	}
	return b.String()
}
