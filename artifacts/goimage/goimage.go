// Package goimage builds a container image from one Go main package,
// without a container engine: `go build` (static, CGO_ENABLED=0), then the
// image assembled with go-containerregistry and written as an archive that
// `ctr images import` takes. The add-ons' images come from it: an upstream
// project at a pinned module version, or one of labctl's own helpers.
// Results are cached by recipe.
package goimage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// builderVersion is part of every recipe: bump it when the assembly changes.
const builderVersion = "labctl-goimage/1"

// Spec is one image to build.
type Spec struct {
	// Ref is the name the image is imported under, e.g.
	// "registry.k8s.io/metrics-server/metrics-server:v0.8.0". Without a
	// tag, the tag is the recipe's key (labctl's own helpers: a new binary
	// is a new tag, so nodes never run a stale one under an old name).
	Ref string
	// Module and Version name an upstream module on the proxy; it is built
	// as its own main module (its go.mod and replaces apply).
	Module, Version string
	// Dir is a local module root instead (labctl's own helpers).
	Dir string
	// Package is the main package, relative to the module root ("./cmd").
	Package string
	// Binary is the file name inside the image (/Binary is the entrypoint).
	Binary string
	// LDFlags are passed to go build (version stamps).
	LDFlags string
	// Tags are build tags (upstream's switches for optional parts).
	Tags []string
	// Args are the image's default arguments after the binary.
	Args []string
	// Files are extra files in the image, by absolute path.
	Files map[string][]byte
	// Assets, when set, are files another build makes (see Assets).
	Assets *Assets
	// Overlay are files added to a copy of the module's sources before the
	// build, by path relative to the module root: what a module zip lacks,
	// e.g. generated assets a go:embed needs. (Not go build -overlay: it
	// refuses files under the module cache.)
	Overlay map[string][]byte
	// User runs the binary (default "65534:65534"; "0:0" for root).
	User string
	// Arch is the target architecture (default amd64).
	Arch string
}

// Result is a built image.
type Result struct {
	Ref     string
	Archive string // docker-archive tar for `ctr images import`
	Cached  bool
}

// Options say where the cache is and where progress goes.
type Options struct {
	CacheDir string // default $XDG_CACHE_HOME/labctl/images
	Log      io.Writer
	Go       string // the go command (default: from PATH)
	// CacheOnly looks the recipe up and builds nothing: a miss is
	// ErrNotCached (what `labctl up --dry-run` reports).
	CacheOnly bool
}

// ErrNotCached is a cache-only lookup's miss: the recipe was never built
// here (or its entry is incomplete), and building it was not asked for.
var ErrNotCached = errors.New("not in the cache")

func (o Options) logf(format string, a ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", a...)
	}
}

// Build returns spec's image archive, building it when its recipe is not
// in the cache. An upstream module's recipe is known before building, so a
// cache hit costs nothing. A local module's recipe includes a digest of its
// Go sources (a re-run of up must not link binaries), and its image is
// tagged by the binary it produced, so that an unchanged binary keeps its
// name on the nodes.
func Build(ctx context.Context, spec Spec, opts Options) (*Result, error) {
	if spec.Arch == "" {
		spec.Arch = "amd64"
	}
	if spec.User == "" {
		spec.User = "65534:65534"
	}
	if _, err := name.ParseReference(spec.Ref); err != nil {
		return nil, fmt.Errorf("image %q: %w", spec.Ref, err)
	}
	if (spec.Module == "") == (spec.Dir == "") {
		return nil, fmt.Errorf("image %s: set exactly one of Module and Dir", spec.Ref)
	}
	if opts.CacheDir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return nil, err
		}
		opts.CacheDir = filepath.Join(d, "labctl", "images")
	}
	if opts.Go == "" {
		opts.Go = goCommand()
	}
	goVersion, err := goVersionOf(ctx, opts.Go)
	if err != nil {
		return nil, err
	}
	key := spec.recipe(strings.TrimSpace(goVersion))
	var index string // a local module's sources -> its last archive
	if spec.Dir != "" {
		tree, err := treeDigest(spec.Dir)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", spec.Ref, err)
		}
		index = filepath.Join(opts.CacheDir, strings.NewReplacer("/", "_", ":", "_").Replace(spec.Ref)+"-"+hashOf(key, tree)+".ref")
		if r, ok := readIndex(index); ok {
			return r, nil
		}
	}
	if spec.Module != "" {
		if !hasTag(spec.Ref) {
			spec.Ref += ":" + key[:12]
		}
		if r, ok := cached(opts.CacheDir, spec, key); ok {
			return r, nil
		}
	}
	if opts.CacheOnly {
		return nil, fmt.Errorf("image %s: %w", spec.Ref, ErrNotCached)
	}
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(opts.CacheDir, ".build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	dir := spec.Dir
	if spec.Module != "" {
		opts.logf("image %s: go build %s@%s %s (once per version)", spec.Ref, spec.Module, spec.Version, spec.Package)
		if dir, err = moduleDir(ctx, opts.Go, spec.Module, spec.Version); err != nil {
			return nil, fmt.Errorf("image %s: %w", spec.Ref, err)
		}
	}
	bin := filepath.Join(work, spec.Binary)
	if len(spec.Overlay) > 0 {
		if dir, err = withOverlay(work, dir, spec.Overlay); err != nil {
			return nil, fmt.Errorf("image %s: %w", spec.Ref, err)
		}
	}
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w " + spec.LDFlags}
	if len(spec.Tags) > 0 {
		args = append(args, "-tags", strings.Join(spec.Tags, ","))
	}
	args = append(args, "-o", bin, spec.Package)
	if _, err := output(ctx, opts.Go, dir, buildEnv(spec.Arch), args...); err != nil {
		return nil, fmt.Errorf("image %s: %w", spec.Ref, err)
	}
	if spec.Dir != "" {
		sum, err := FileSum(bin)
		if err != nil {
			return nil, err
		}
		key = hashOf(key, sum)
		probe := spec
		if !hasTag(probe.Ref) {
			probe.Ref += ":" + key[:12]
		}
		if r, ok := cached(opts.CacheDir, probe, key); ok {
			return r, writeIndex(index, r)
		}
	}
	if !hasTag(spec.Ref) {
		spec.Ref += ":" + key[:12]
	}
	extra := map[string][]byte{}
	if spec.Assets != nil {
		if err := addAssets(ctx, spec.Assets, opts, extra); err != nil {
			return nil, fmt.Errorf("image %s: %w", spec.Ref, err)
		}
	}
	img, err := assemble(spec, bin, extra)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", spec.Ref, err)
	}
	tag, err := name.NewTag(spec.Ref)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", spec.Ref, err)
	}
	tmp := filepath.Join(work, "image.tar")
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		return nil, fmt.Errorf("image %s: %w", spec.Ref, err)
	}
	final := archivePath(opts.CacheDir, spec, key)
	if err := os.Rename(tmp, final); err != nil {
		return nil, err
	}
	opts.logf("image %s: built (%s)", spec.Ref, filepath.Base(final))
	r := &Result{Ref: spec.Ref, Archive: final}
	if index != "" {
		return r, writeIndex(index, r)
	}
	return r, nil
}

// recipe hashes everything that makes the image, except a local module's
// sources (see Build).
func (s Spec) recipe(goVersion string) string {
	files := make([]string, 0, len(s.Files))
	for p, data := range s.Files {
		files = append(files, p+" "+hashOf(string(data)))
	}
	sort.Strings(files)
	parts := []any{builderVersion, goVersion, s.Ref, s.Module, s.Version, s.Package, s.Binary, s.LDFlags, s.Args, files, s.User, s.Arch}
	// Appended only when set: other images keep their recipes.
	if s.Assets != nil {
		parts = append(parts, s.Assets.Dir, s.Assets.Recipe)
	}
	if len(s.Tags) > 0 {
		parts = append(parts, "tags", s.Tags)
	}
	// Only when set: recipes without an overlay keep their cached images.
	if len(s.Overlay) > 0 {
		var over []string
		for p, data := range s.Overlay {
			over = append(over, p+" "+hashOf(string(data)))
		}
		sort.Strings(over)
		parts = append(parts, over)
	}
	b, _ := json.Marshal(parts)
	return hashOf(string(b))
}

// hasTag says whether ref names a tag or digest (a port belongs to the
// registry, before the first slash).
func hasTag(ref string) bool {
	return strings.Contains(ref, "@") || strings.Contains(ref[strings.LastIndex(ref, "/")+1:], ":")
}

func hashOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		io.WriteString(h, p+"\n")
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

func archivePath(dir string, s Spec, key string) string {
	safe := strings.NewReplacer("/", "_", ":", "_").Replace(s.Ref)
	return filepath.Join(dir, safe+"-"+key+".tar")
}

func cached(dir string, s Spec, key string) (*Result, bool) {
	p := archivePath(dir, s, key)
	if _, err := os.Stat(p); err != nil {
		return nil, false
	}
	return &Result{Ref: s.Ref, Archive: p, Cached: true}, true
}

// assemble makes a two-layer image: a tiny base (users, nsswitch, /tmp)
// and the binary with the spec's files and extra (its assets).
func assemble(s Spec, bin string, extra map[string][]byte) (v1.Image, error) {
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	base, err := layer(map[string][]byte{
		"/etc/passwd":        []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"),
		"/etc/group":         []byte("root:x:0:\nnogroup:x:65534:\n"),
		"/etc/nsswitch.conf": []byte("hosts: files dns\n"),
	}, nil)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{"/" + s.Binary: data}
	for p, d := range extra {
		files[p] = d
	}
	for p, d := range s.Files {
		files[p] = d
	}
	app, err := layer(files, map[string]bool{"/" + s.Binary: true})
	if err != nil {
		return nil, err
	}
	return Image(s.Arch, v1.Config{
		Entrypoint: []string{"/" + s.Binary},
		Cmd:        s.Args,
		User:       s.User,
		WorkingDir: "/",
		Env:        []string{"PATH=/"},
		Labels:     map[string]string{"org.opencontainers.image.source": s.Module + "@" + s.Version, "built-by": "labctl"},
	},
		mutate.Addendum{Layer: base, History: v1.History{Created: v1.Time{Time: Epoch}, CreatedBy: "labctl: base"}},
		mutate.Addendum{Layer: app, History: v1.History{Created: v1.Time{Time: Epoch}, CreatedBy: "labctl: go build " + s.Module + " " + s.Package}},
	)
}

// layer is a gzip layer holding files (and their parent directories),
// executable when exec says so.
func layer(files map[string][]byte, exec map[string]bool) (v1.Layer, error) {
	var names []string
	dirs := map[string]bool{"tmp/": true}
	for p := range files {
		names = append(names, p)
		for d := path.Dir(strings.TrimPrefix(p, "/")); d != "." && d != "/"; d = path.Dir(d) {
			dirs[d+"/"] = true
		}
	}
	var all []string
	for d := range dirs {
		all = append(all, d)
	}
	sort.Strings(all)
	sort.Strings(names)
	var entries []Entry
	for _, d := range all {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		entries = append(entries, Entry{Name: d, Mode: mode})
	}
	for _, p := range names {
		mode := int64(0o644)
		if exec[p] {
			mode = 0o755
		}
		entries = append(entries, Entry{Name: strings.TrimPrefix(p, "/"), Mode: mode, Data: files[p]})
	}
	return Layer(entries)
}
