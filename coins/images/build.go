package images

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/partial"

	"github.com/labctl/labctl/artifacts/goimage"
)

// builderVersion is part of the cache key; bump it when the image assembly
// changes.
const builderVersion = "labctl-coins-images/4"

// File names in the output directory.
const (
	LayoutDir   = "oci"
	ArchiveName = "dockercoins-images.tar"
	binName     = "bin" // bin/<arch>/labctl-mirror
	keyName     = "inputs.sha256"
	keyedLen    = 16 // hex digits of the inputs key naming a Keyed build
)

// AnnotationImageName is how containerd's importer names an imported image.
const AnnotationImageName = "io.containerd.image.name"

// Options says where to build from and to.
type Options struct {
	// Dir receives oci/ and dockercoins-images.tar.
	Dir string
	// ModuleDir is the root of the labctl source tree (see FindModule).
	ModuleDir string
	// Log, when set, receives progress lines.
	Log io.Writer
	// Keyed builds in Dir/<inputs key> instead of Dir itself: labctl runs
	// from different versions or checkouts that share a cache then never
	// replace the archive another one is about to upload.
	Keyed bool
	// RedisCache keeps the Redis image's layers between builds (they take
	// about half a minute and the Debian archive); default
	// DefaultRedisCache().
	RedisCache string
	// CacheOnly builds nothing: a miss is goimage.ErrNotCached (what
	// `labctl up --dry-run` reports).
	CacheOnly bool
}

// Result is a finished build.
type Result struct {
	Layout  string // OCI image layout directory
	Archive string // the layout as one tar, for `ctr images import`
	Cached  bool   // nothing was rebuilt: the inputs had not changed
	Images  []Image
	// Mirror is the node-local docker.io mirror's binary (MirrorBinary)
	// by architecture (Arches).
	Mirror map[string]string
}

// Build compiles the services and writes all images. When the inputs hash to
// what Dir was built from, it reuses Dir.
//
// The inputs are: the services' files, the modules they link, the Go
// version and this builder.
func Build(ctx context.Context, opts Options) (*Result, error) {
	logf := func(format string, args ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", args...)
		}
	}
	if opts.RedisCache == "" {
		var err error
		if opts.RedisCache, err = DefaultRedisCache(); err != nil {
			return nil, fmt.Errorf("redis image cache: %w", err)
		}
	}
	redis, err := buildRedis(ctx, opts.RedisCache, opts.CacheOnly, logf)
	if err != nil {
		return nil, err
	}
	key, err := inputsKey(ctx, opts.ModuleDir, redis)
	if err != nil {
		return nil, err
	}
	if opts.Keyed {
		opts.Dir = filepath.Join(opts.Dir, key[:keyedLen])
	}
	res := &Result{Layout: filepath.Join(opts.Dir, LayoutDir), Archive: filepath.Join(opts.Dir, ArchiveName), Mirror: map[string]string{}}
	for _, arch := range Arches {
		res.Mirror[arch] = filepath.Join(opts.Dir, binName, arch, MirrorBinary)
	}
	keyFile := filepath.Join(opts.Dir, keyName)
	if old, err := os.ReadFile(keyFile); err == nil && strings.TrimSpace(string(old)) == key {
		if allExist(res.Archive, res.Mirror) {
			if res.Images, err = Describe(res.Layout); err == nil {
				res.Cached = true
				logf("images are up to date (inputs %s)", key[:12])
				return res, nil
			}
		}
	}
	if opts.CacheOnly {
		return nil, fmt.Errorf("DockerCoins images (inputs %s): %w", key[:12], goimage.ErrNotCached)
	}

	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	// A half-written directory must not look up to date.
	for _, stale := range []string{keyFile, res.Layout, res.Archive, filepath.Join(opts.Dir, binName)} {
		if err := os.RemoveAll(stale); err != nil {
			return nil, err
		}
	}
	binDir, err := os.MkdirTemp("", "dockercoins-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(binDir)
	logf("compiling %d binaries for %s", len(Targets), strings.Join(Arches, ", "))
	if err := compile(ctx, opts.ModuleDir, binDir); err != nil {
		return nil, err
	}

	base, err := baseLayer()
	if err != nil {
		return nil, err
	}
	webFiles := os.DirFS(filepath.Join(opts.ModuleDir, "coins", "webui", "files"))
	lp, err := layout.Write(res.Layout, empty.Index)
	if err != nil {
		return nil, err
	}
	for _, t := range Targets {
		idx, err := index(t, binDir, base, webFiles)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Ref(), err)
		}
		err = lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{
			AnnotationImageName:                 t.FullRef(),
			"org.opencontainers.image.ref.name": t.FullRef(),
		}))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Ref(), err)
		}
	}
	idx, err := redisIndex(redis)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RedisRef, err)
	}
	err = lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		AnnotationImageName:                 RedisRef,
		"org.opencontainers.image.ref.name": RedisRef,
	}))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RedisRef, err)
	}
	// latest names the same index: only a second descriptor.
	desc, err := partial.Descriptor(idx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", RedisLatestRef, err)
	}
	desc.Annotations = map[string]string{AnnotationImageName: RedisLatestRef, "org.opencontainers.image.ref.name": RedisLatestRef}
	if err := lp.AppendDescriptor(*desc); err != nil {
		return nil, fmt.Errorf("%s: %w", RedisLatestRef, err)
	}
	for _, arch := range Arches {
		bin := filepath.Join(binDir, arch, flagsDir(""), MirrorBinary)
		if err := copyTo(bin, res.Mirror[arch]); err != nil {
			return nil, fmt.Errorf("%s for %s: %w", MirrorBinary, arch, err)
		}
	}
	if err := writeArchive(res.Layout, res.Archive); err != nil {
		return nil, err
	}
	if res.Images, err = Describe(res.Layout); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o644); err != nil {
		return nil, err
	}
	if opts.Keyed {
		pruneKeyed(filepath.Dir(opts.Dir), filepath.Base(opts.Dir), logf)
	}
	return res, nil
}

// keyedUnused is how long a Keyed build nobody rebuilt is kept.
const keyedUnused = 7 * 24 * time.Hour

// pruneKeyed removes the Keyed builds in parent, other than keep, that
// were last written more than keyedUnused ago.
func pruneKeyed(parent, keep string, logf func(string, ...any)) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !e.IsDir() || e.Name() == keep || len(e.Name()) != keyedLen || time.Since(info.ModTime()) < keyedUnused {
			continue
		}
		if _, err := hex.DecodeString(e.Name()); err != nil {
			continue
		}
		if err := os.RemoveAll(filepath.Join(parent, e.Name())); err == nil {
			logf("removed images unused since %s (%s)", info.ModTime().Format(time.DateOnly), e.Name())
		}
	}
}

// inputsKey hashes everything the images are made of.
func inputsKey(ctx context.Context, moduleDir string, redis *redisBuild) (string, error) {
	gover, err := goVersion(ctx)
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%q\n%s", builderVersion, gover, Targets, redis.key())
	deps, err := dependencies(ctx, moduleDir)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "%s\n", deps)
	var files []string
	for _, svc := range []string{"rng", "hasher", "worker", "webui", "mirror"} {
		root := filepath.Join(moduleDir, "coins", svc)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") {
				return err
			}
			rel, err := filepath.Rel(moduleDir, p)
			files = append(files, rel)
			return err
		})
		if err != nil {
			return "", err
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(moduleDir, f))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(f), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// dependencies lists the modules linked into the services, with their
// versions and sums (not go.mod itself, which changes for other reasons).
func dependencies(ctx context.Context, moduleDir string) (string, error) {
	args := []string{"list", "-deps", "-f", "{{with .Module}}{{.Path}} {{.Version}} {{.Sum}}{{end}}"}
	for _, svc := range []string{"rng", "hasher", "worker", "webui"} {
		args = append(args, "./coins/"+svc)
	}
	args = append(args, MirrorPackage)
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	lines := slices.Compact(slices.Sorted(slices.Values(strings.Split(string(out), "\n"))))
	return strings.Join(lines, "\n"), nil
}

// writeArchive tars an OCI layout directory (an "OCI archive"), in a fixed
// order with fixed timestamps.
func writeArchive(layoutDir, archive string) (err error) {
	var paths []string
	err = filepath.WalkDir(layoutDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != layoutDir {
			paths = append(paths, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	slices.Sort(paths)
	tmp := archive + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	tw := tar.NewWriter(f)
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(layoutDir, p)
		hdr := &tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, ModTime: goimage.Epoch, Typeflag: tar.TypeReg, Size: info.Size()}
		if info.IsDir() {
			hdr.Name += "/"
			hdr.Mode, hdr.Typeflag, hdr.Size = 0o755, tar.TypeDir, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.IsDir() {
			if err := copyFile(tw, p); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, archive)
}

func copyFile(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// allExist says whether the archive and every mirror binary are there.
func allExist(archive string, mirror map[string]string) bool {
	if _, err := os.Stat(archive); err != nil {
		return false
	}
	for _, p := range mirror {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

// copyTo copies the executable src to dst, creating dst's directory.
func copyTo(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if err := copyFile(out, src); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
