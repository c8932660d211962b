// Package artifacts builds, once per recipe, everything an offline node needs
// to run kubeadm: kubeadm, kubelet and kubectl built from the official Go
// modules, and the control-plane images (assembled locally, no registry) in
// one docker-archive tarball. Builds are cached by a hash of their recipe,
// locked against concurrent builders, and published atomically.
package artifacts

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/labctl/labctl/artifacts/goimage"
)

// Options says what to build and where.
type Options struct {
	// KubernetesVersion is "1.34.4" or "v1.34.4".
	KubernetesVersion string
	// Arch is the GOARCH of the nodes (default amd64).
	Arch string
	// CacheDir holds one directory per recipe (default
	// $XDG_CACHE_HOME/labctl/artifacts).
	CacheDir string
	// Go is the go command (default "go" on PATH).
	Go string
	// DebianMirror serves the kube-proxy image's Debian base
	// (default http://deb.debian.org/debian).
	DebianMirror string
	// Log receives one line per step (default: discarded).
	Log io.Writer
	// CacheOnly looks the recipe up and builds or downloads nothing: a
	// miss (no entry, or no k8s.io/kubernetes source to read the recipe
	// from) is goimage.ErrNotCached.
	CacheOnly bool
}

// CNI plugins are not built here: nodes get Debian's package, which installs
// them under /usr/lib/cni.
const (
	CNIPackage = "containernetworking-plugins"
	CNIBinDir  = "/usr/lib/cni"
)

// CNIPlugins are the plugins labctl's offline CNI path relies on.
var CNIPlugins = []string{"bridge", "host-local", "loopback", "portmap"}

// Artifact is one file of the cache.
type Artifact struct {
	Name    string `json:"name"`
	Path    string `json:"path"` // relative to the manifest's directory
	Kind    string `json:"kind"` // "binary" or "images"
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
}

// Manifest describes a finished build; it is written as manifest.json.
type Manifest struct {
	RecipeHash string `json:"recipeHash"`
	Recipe     Recipe `json:"recipe"`
	// Base is the base entry an entry with the etcd tools was made from;
	// EtcdTools the version of its etcdctl and etcdutl (etcdtools.go).
	Base         string     `json:"base,omitempty"`
	EtcdTools    string     `json:"etcdTools,omitempty"`
	Artifacts    []Artifact `json:"artifacts"`
	Images       []string   `json:"images"`
	CNIPackage   string     `json:"cniPackage"`
	CNIBinDir    string     `json:"cniBinDir"`
	CNIPlugins   []string   `json:"cniPlugins"`
	BuiltAt      time.Time  `json:"builtAt"`
	BuildSeconds float64    `json:"buildSeconds"`
	// Dir is where the manifest was found; not stored.
	Dir string `json:"-"`
}

// Path returns the absolute path of the named artifact ("kubeadm",
// "images.tar", ...), or "" if there is none.
func (m *Manifest) Path(artifact string) string { return pathOf(m.Dir, m.Artifacts, artifact) }

func pathOf(dir string, arts []Artifact, name string) string {
	for _, a := range arts {
		if a.Name == name {
			return filepath.Join(dir, a.Path)
		}
	}
	return ""
}

// complete checks that every artifact is in dir with its recorded size: a
// build killed while writing leaves an incomplete cache, never a hit.
func complete(dir string, arts []Artifact) error {
	for _, a := range arts {
		st, err := os.Stat(filepath.Join(dir, a.Path))
		if err != nil || st.Size() != a.Size {
			return fmt.Errorf("cache %s is incomplete: %s", dir, a.Path)
		}
	}
	return nil
}

// Verify re-hashes every artifact against the manifest.
func (m *Manifest) Verify() error {
	for _, a := range m.Artifacts {
		sum, size, err := fileSHA256(filepath.Join(m.Dir, a.Path))
		if err != nil {
			return err
		}
		if sum != a.SHA256 || size != a.Size {
			return fmt.Errorf("artifact %s: sha256 %s size %d, manifest says %s size %d", a.Name, sum, size, a.SHA256, a.Size)
		}
	}
	return nil
}

const manifestFile = "manifest.json"

// ResolveRecipe computes the recipe of opts without building anything: it
// reads the image versions kubeadm pins from the k8s.io/kubernetes module
// source (downloading it through the module proxy if needed).
func ResolveRecipe(ctx context.Context, opts Options) (Recipe, error) {
	b, err := newBuilder(ctx, opts)
	if err != nil {
		return Recipe{}, err
	}
	return b.recipe, nil
}

// Build returns the manifest of the cached build for opts, building it first
// if needed. A cache hit costs one `go env` and a few file reads. The
// entry is the base build plus etcdctl and etcdutl in the etcd image (see
// etcdtools.go); when the tools cannot be had, the base build, and the
// log says why (the next Build tries again).
func Build(ctx context.Context, opts Options) (*Manifest, error) {
	b, err := newBuilder(ctx, opts)
	if err != nil {
		return nil, err
	}
	tools := b.recipe.etcdTools()
	hash := finalHash(b.hash, tools.hash())
	if m, err := readManifest(filepath.Join(b.root, hash)); err == nil && m.RecipeHash == hash {
		return m, nil
	}
	if opts.CacheOnly {
		return nil, fmt.Errorf("kubernetes %s artifacts: %w", b.recipe.Kubernetes, goimage.ErrNotCached)
	}
	base, err := b.buildBase(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := b.buildEtcdTools(ctx, tools)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		b.logf("etcd image without etcdctl and etcdutl: %v", err)
		return base, nil
	}
	return b.withEtcdTools(ctx, base, dir, hash)
}

// buildBase returns the base entry (Kubernetes, CoreDNS, pause, etcd),
// building it first if needed.
func (b *builder) buildBase(ctx context.Context) (*Manifest, error) {
	if m, err := readManifest(b.final); err == nil && m.RecipeHash == b.hash {
		return m, nil
	}
	if err := os.MkdirAll(b.root, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(ctx, b.final+".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Another labctl may have finished the build while we waited.
	if m, err := readManifest(b.final); err == nil && m.RecipeHash == b.hash {
		return m, nil
	}
	return b.build(ctx)
}

func readManifest(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, manifestFile))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, manifestFile), err)
	}
	if err := complete(dir, m.Artifacts); err != nil {
		return nil, err
	}
	m.Dir = dir
	return &m, nil
}

// DefaultCacheDir is $XDG_CACHE_HOME/labctl/artifacts (~/.cache/... on Linux).
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "labctl", "artifacts"), nil
}

type builder struct {
	opts   Options
	gt     goTool
	env    goEnv
	recipe Recipe
	hash   string
	root   string // cache root
	final  string // root/hash
	k8sDir string // module source of k8s.io/kubernetes
	minor  int

	// Progress: which step the build is at, since when; the debootstrap
	// goroutine logs too.
	step    int
	started time.Time
	logMu   sync.Mutex
}

func newBuilder(ctx context.Context, opts Options) (*builder, error) {
	if opts.Arch == "" {
		opts.Arch = "amd64"
	}
	if opts.Go == "" {
		opts.Go = "go"
	}
	if opts.DebianMirror == "" {
		opts.DebianMirror = "http://deb.debian.org/debian"
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.CacheDir == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return nil, err
		}
		opts.CacheDir = d
	}
	version, minor, err := NormalizeVersion(opts.KubernetesVersion)
	if err != nil {
		return nil, err
	}
	b := &builder{opts: opts, root: opts.CacheDir, minor: minor}
	b.gt = goTool{bin: opts.Go, log: b.logf}
	if b.env, err = b.gt.goEnv(ctx); err != nil {
		return nil, err
	}
	if opts.CacheOnly && !inModuleCache(b.env, "k8s.io/kubernetes", version) {
		return nil, fmt.Errorf("kubernetes %s: %w (its source is not downloaded)", version, goimage.ErrNotCached)
	}
	if b.k8sDir, err = b.gt.moduleDir(ctx, b.env, "k8s.io/kubernetes", version); err != nil {
		return nil, err
	}
	src, err := os.ReadFile(filepath.Join(b.k8sDir, "cmd/kubeadm/app/constants/constants.go"))
	if err != nil {
		return nil, err
	}
	kv, err := parseKubeadmConstants(src)
	if err != nil {
		return nil, fmt.Errorf("kubernetes %s: %w", version, err)
	}
	b.recipe = Recipe{
		RecipeVersion: RecipeVersion, Kubernetes: version, Arch: opts.Arch, GoVersion: b.env.GOVERSION,
		Etcd: kv.etcdFor(minor), CoreDNS: kv.CoreDNS, Pause: kv.Pause,
		DebianSuite: debianSuite, DebianVariant: debianVariant, DebianPackages: debianPackages,
	}
	b.hash = b.recipe.Hash()
	b.final = filepath.Join(b.root, b.hash)
	return b, nil
}

func (b *builder) logf(format string, args ...any) {
	b.logMu.Lock()
	defer b.logMu.Unlock()
	fmt.Fprintf(b.opts.Log, "artifacts: "+format+"\n", args...)
}

// build runs every step into a temporary directory next to the final one and
// renames it into place only when complete.
func (b *builder) build(ctx context.Context) (*Manifest, error) {
	start := time.Now()
	b.started = start
	tmp, err := os.MkdirTemp(b.root, ".tmp-"+b.hash+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	b.logf("building %s for linux/%s (recipe %s) in %s", b.recipe.Kubernetes, b.recipe.Arch, b.hash, tmp)

	// debootstrap is mostly waiting on the network and dpkg: let it overlap
	// the compiler, which has both cores.
	type debianResult struct {
		path string
		err  error
	}
	debianCh := make(chan debianResult, 1)
	dctx, cancelDebian := context.WithCancel(ctx)
	go func() {
		p, err := b.debianRootfs(dctx)
		debianCh <- debianResult{p, err}
	}()
	debianDone := false
	// On an early return, stop debootstrap and wait for its cleanup.
	defer func() {
		cancelDebian()
		if !debianDone {
			<-debianCh
		}
	}()

	bin := filepath.Join(tmp, "build")
	if err := b.compile(ctx, tmp, bin); err != nil {
		return nil, err
	}
	deb := <-debianCh
	debianDone = true
	if deb.err != nil {
		return nil, deb.err
	}
	out := filepath.Join(tmp, "out")
	if err := os.MkdirAll(filepath.Join(out, "bin"), 0o755); err != nil {
		return nil, err
	}
	t := time.Now()
	created, err := moduleTime(b.env, "k8s.io/kubernetes", b.recipe.Kubernetes)
	if err != nil {
		return nil, err
	}
	if err := writeImages(imageSpecs(b.recipe, bin), b.recipe.Arch, deb.path, tmp, filepath.Join(out, "images.tar"), created); err != nil {
		return nil, err
	}
	b.logf("[%d/%d] images: %d written in %s", buildSteps, buildSteps, len(b.recipe.ImageTags()), time.Since(t).Round(time.Second))
	m := &Manifest{RecipeHash: b.hash, Recipe: b.recipe, Images: b.recipe.ImageTags(),
		CNIPackage: CNIPackage, CNIBinDir: CNIBinDir, CNIPlugins: CNIPlugins, BuiltAt: time.Now().UTC()}
	for _, n := range []string{"kubeadm", "kubelet", "kubectl"} {
		if err := os.Rename(filepath.Join(bin, n), filepath.Join(out, "bin", n)); err != nil {
			return nil, err
		}
		m.Artifacts = append(m.Artifacts, Artifact{Name: n, Path: "bin/" + n, Kind: "binary", Version: b.recipe.Kubernetes})
	}
	m.Artifacts = append(m.Artifacts, Artifact{Name: "images.tar", Path: "images.tar", Kind: "images", Version: b.recipe.Kubernetes})
	for i := range m.Artifacts {
		a := &m.Artifacts[i]
		if a.SHA256, a.Size, err = fileSHA256(filepath.Join(out, a.Path)); err != nil {
			return nil, err
		}
	}
	m.BuildSeconds = time.Since(start).Seconds()
	if err := publish(out, b.final, manifestFile, m); err != nil {
		return nil, err
	}
	m.Dir = b.final
	b.logf("done in %s: %s", time.Since(start).Round(time.Second), b.final)
	return m, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
