package preload

import (
	_ "embed"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"text/template"
)

// Archive is an image archive on a node and what its import brings.
type Archive struct {
	Path string   // where it was uploaded
	Refs []string // the images it holds (FullRef is applied)
	// Record, when set, keeps the SHA256 of the archive last imported:
	// while it holds SHA256 and containerd lists every image, the import
	// is skipped (nodeprep's Kubernetes images). Without it the archive is
	// imported each time (the callers probed first).
	Record, SHA256 string
}

//go:embed import.sh.tmpl
var importSource string

var importTmpl = template.Must(template.New("import").Funcs(template.FuncMap{"dir": path.Dir}).Parse(importSource))

// Values rendered into the script are checked instead of quoted: none
// holds a character the shell would read.
var (
	pathRE = regexp.MustCompile(`^/[A-Za-z0-9._/-]+$`)
	refRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/:@-]*$`)
	sumRE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Script is the one node-side import of an image archive into containerd
// (namespace k8s.io), for the add-ons, DockerCoins and nodeprep's
// Kubernetes images: import, then fail unless containerd lists every
// image of a.Refs. It runs under sh and under bash -euo pipefail, alone
// or within a longer script (it never exits on success). Removing the
// archive is the caller's.
func Script(a Archive) (string, error) {
	if !pathRE.MatchString(a.Path) {
		return "", fmt.Errorf("image archive path %q: want an absolute path of letters, digits and . _ / -", a.Path)
	}
	if len(a.Refs) == 0 {
		return "", fmt.Errorf("image archive %s: no images named", a.Path)
	}
	refs := make([]string, len(a.Refs))
	for i, r := range a.Refs {
		if !refRE.MatchString(r) {
			return "", fmt.Errorf("image archive %s: image %q: want letters, digits and . _ / : @ -", a.Path, r)
		}
		refs[i] = FullRef(r)
	}
	slices.Sort(refs)
	a.Refs = slices.Compact(refs)
	if a.Record != "" && (!pathRE.MatchString(a.Record) || !sumRE.MatchString(a.SHA256)) {
		return "", fmt.Errorf("image archive %s: record %q of sha256 %q: want an absolute path and 64 hex digits", a.Path, a.Record, a.SHA256)
	}
	var b strings.Builder
	if err := importTmpl.Execute(&b, a); err != nil {
		return "", err
	}
	return b.String(), nil
}
