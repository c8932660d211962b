package mirror

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Annotations naming an image in an OCI layout: containerd's importer reads
// the first, the OCI spec defines the second (labctl writes both, with the
// full reference "docker.io/library/redis:7.0").
const (
	annotationContainerd = "io.containerd.image.name"
	annotationRefName    = "org.opencontainers.image.ref.name"
)

// Media types whose blobs are manifests that name other blobs.
const (
	ociIndex       = "application/vnd.oci.image.index.v1+json"
	ociManifest    = "application/vnd.oci.image.manifest.v1+json"
	dockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
)

// digestPattern is the only digest form the mirror serves; checking it also
// keeps request paths out of anything but blobs/sha256.
var digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type manifestDoc struct {
	MediaType string       `json:"mediaType"`
	Manifests []descriptor `json:"manifests"`
	Config    *descriptor  `json:"config"`
	Layers    []descriptor `json:"layers"`
}

// repository is what the mirror serves under one name.
type repository struct {
	tags      map[string]descriptor // tag → top-level manifest or index
	manifests map[string]descriptor // digest → every manifest reachable from a tag
	blobs     map[string]int64      // digest → size, configs and layers
}

// catalog is an OCI image layout read into repositories, by name as the
// registry API spells it ("library/redis").
type catalog struct {
	index []byte // the index.json it was built from
	repos map[string]*repository
}

// Names lists the layout's images as name:tag, for logs and errors.
func (c *catalog) Names() []string {
	var out []string
	for name, r := range c.repos {
		for tag := range r.tags {
			out = append(out, name+":"+tag)
		}
	}
	return out
}

// blobPath is where a digest's content lives in the layout.
func blobPath(dir, digest string) string {
	return filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

// loadCatalog reads dir's index.json and every manifest it reaches. Only
// docker.io images are served (the mirror stands in for docker.io); other
// names are skipped.
func loadCatalog(dir string, index []byte) (*catalog, error) {
	var top manifestDoc
	if err := json.Unmarshal(index, &top); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "index.json"), err)
	}
	c := &catalog{index: index, repos: map[string]*repository{}}
	for _, d := range top.Manifests {
		ref := d.Annotations[annotationContainerd]
		if ref == "" {
			ref = d.Annotations[annotationRefName]
		}
		name, tag, ok := dockerName(ref)
		if !ok {
			continue
		}
		r := c.repos[name]
		if r == nil {
			r = &repository{tags: map[string]descriptor{}, manifests: map[string]descriptor{}, blobs: map[string]int64{}}
			c.repos[name] = r
		}
		r.tags[tag] = d
		if err := r.walk(dir, d); err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
	}
	return c, nil
}

// walk records d and, when it is a manifest, what it references.
func (r *repository) walk(dir string, d descriptor) error {
	if !digestPattern.MatchString(d.Digest) {
		return fmt.Errorf("digest %q: only sha256 digests are served", d.Digest)
	}
	switch d.MediaType {
	case ociIndex, dockerList, ociManifest, dockerManifest:
	default:
		r.blobs[d.Digest] = d.Size
		return nil
	}
	if _, seen := r.manifests[d.Digest]; seen {
		return nil
	}
	r.manifests[d.Digest] = descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}
	data, err := os.ReadFile(blobPath(dir, d.Digest))
	if err != nil {
		return err
	}
	var m manifestDoc
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("manifest %s: %w", d.Digest, err)
	}
	children := append([]descriptor{}, m.Manifests...)
	if m.Config != nil {
		children = append(children, *m.Config)
	}
	for _, child := range append(children, m.Layers...) {
		if err := r.walk(dir, child); err != nil {
			return err
		}
	}
	return nil
}

// dockerName turns an image reference into the registry API's name and tag
// when it is a docker.io image: "docker.io/library/redis:7.0" and
// "redis:7.0" both give ("library/redis", "7.0").
func dockerName(ref string) (name, tag string, ok bool) {
	if ref == "" || strings.Contains(ref, "@") {
		return "", "", false
	}
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return "", "", false
	}
	name, tag = ref[:i], ref[i+1:]
	first, rest, hasSlash := strings.Cut(name, "/")
	switch {
	case !hasSlash:
		name = "library/" + name
	case first == "docker.io" || first == "index.docker.io":
		name = rest
		if !strings.Contains(name, "/") {
			name = "library/" + name
		}
	case strings.ContainsAny(first, ".:") || first == "localhost":
		return "", "", false // another registry's image
	}
	return name, tag, name != "" && tag != ""
}
