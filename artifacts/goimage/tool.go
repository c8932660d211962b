package goimage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Tool is one of labctl's own programs that runs outside an image: a main
// package of labctl's module, kept out of the labctl binary because of
// what it links (the Pulumi SDK, say) or because it runs on the nodes
// (the web terminal's agent).
type Tool struct {
	// Dir is the module root (see OwnModule), Package the main package
	// relative to it ("./cmd/labctl-pulumi"), Name the binary's name.
	Dir, Package, Name string
	// Arch, when set, makes a static linux/Arch binary for the nodes (as
	// the images' binaries are built); empty, a build for this machine in
	// the caller's environment.
	Arch string
}

// BuildTool returns the path of tool's binary, building it when its
// recipe (the go version, the target architecture and a digest of the
// module's Go sources) is not in the cache yet. Log hears one line before
// a build, which takes minutes from an empty build cache.
func BuildTool(ctx context.Context, t Tool, opts Options) (string, error) {
	if t.Dir == "" || t.Package == "" || t.Name == "" || strings.ContainsAny(t.Name, `/\`) {
		return "", fmt.Errorf("tool %q: Dir, Package and a plain Name are required", t.Name)
	}
	if opts.CacheDir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		opts.CacheDir = filepath.Join(d, "labctl", "tools")
	}
	if opts.Go == "" {
		opts.Go = goCommand()
	}
	goVersion, err := goVersionOf(ctx, opts.Go)
	if err != nil {
		return "", err
	}
	tree, err := treeDigest(t.Dir)
	if err != nil {
		return "", fmt.Errorf("tool %s: %w", t.Name, err)
	}
	target := runtime.GOARCH
	if t.Arch != "" {
		target = "linux/" + t.Arch // never a host build's key
	}
	key := hashOf("labctl-tool/1", goVersion, target, t.Package, t.Name, tree)
	bin := filepath.Join(opts.CacheDir, t.Name+"-"+key[:16], t.Name)
	if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() {
		return bin, nil
	}
	if opts.CacheOnly {
		return "", fmt.Errorf("tool %s: %w", t.Name, ErrNotCached)
	}
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(opts.CacheDir, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	opts.logf("%s: go build %s (once per labctl source)", t.Name, t.Package)
	tmp := filepath.Join(work, t.Name)
	// A host build in the caller's environment (no -trimpath, cgo as
	// configured): it shares the build cache with `go build ./cmd/labctl`.
	env := append(os.Environ(), "GOOS=", "GOARCH=", "GOWORK=off", "GOTOOLCHAIN=local")
	args := []string{"build", "-buildvcs=false", "-ldflags", "-s -w", "-o", tmp, t.Package}
	if t.Arch != "" {
		env = buildEnv(t.Arch)
		args = []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", tmp, t.Package}
	}
	if _, err := output(ctx, opts.Go, t.Dir, env, args...); err != nil {
		return "", fmt.Errorf("tool %s: %w", t.Name, err)
	}
	// The final directory appears whole or not at all: a concurrent
	// build's rename loses the race harmlessly (same recipe, same binary).
	if err := os.Rename(work, filepath.Dir(bin)); err != nil {
		if _, serr := os.Stat(bin); serr == nil {
			return bin, nil
		}
		return "", err
	}
	return bin, nil
}
