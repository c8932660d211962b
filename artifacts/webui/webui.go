// Package webui builds a web front-end that a Go module ships only as
// sources (a pnpm workspace, like Prometheus' web/ui), with the machine's
// Node.js and packages from the npm registry, and caches what it builds
// by recipe: the same recipe never runs npm again.
package webui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/labctl/labctl/artifacts/goimage"
)

// recipeVersion changes when this package builds differently.
const recipeVersion = "labctl-webui/1"

// Spec is one front-end to build.
type Spec struct {
	// Module and Version are the Go module that holds the workspace.
	Module, Version string
	// Dir is the workspace inside the module ("web/ui").
	Dir string
	// Skip are directories of the workspace not copied (another UI).
	Skip []string
	// PNPM is the pnpm version, installed from the npm registry.
	PNPM string
	// Overrides pin packages whose locked version the registry lacks to
	// one it has (pnpm overrides; the lockfile is then updated).
	Overrides map[string]string
	// Filter is the workspace project to install, with what it needs
	// ("@prometheus-io/mantine-ui...").
	Filter string
	// Script is the workspace script that builds it ("build:mantine-ui").
	Script string
	// Output is what the script leaves, relative to Dir ("static").
	Output string
}

// Options say where the cache is and where progress goes.
type Options struct {
	CacheDir string // the images cache; the UI goes under its webui/
	Log      io.Writer
	// CacheOnly: a miss is goimage.ErrNotCached, nothing is installed.
	CacheOnly bool
}

// Recipe is what decides the built files, with the machine's Node.js.
func (s Spec) Recipe(nodeVersion string) string {
	b, _ := json.Marshal([]any{recipeVersion, nodeVersion, s})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:20]
}

// NodeVersion is the machine's `node --version`.
func NodeVersion(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "node", "--version").Output()
	if err != nil {
		return "", fmt.Errorf("web UIs are built with Node.js and npm, which this machine lacks (`node --version`: %v): install them (Debian: apt-get install nodejs npm)", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Build returns the directory holding the built front-end: from the cache,
// or built now (minutes: npm downloads and a bundler).
func Build(ctx context.Context, s Spec, opts Options) (string, error) {
	node, err := NodeVersion(ctx)
	if err != nil {
		return "", err
	}
	root := filepath.Join(opts.CacheDir, "webui")
	key := s.Recipe(node)
	final := filepath.Join(root, strings.NewReplacer("/", "_", "@", "").Replace(s.Module)+"-"+s.Version+"-"+key)
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(root, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	logf := func(format string, a ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, "web UI %s@%s: "+format+"\n", append([]any{s.Module, s.Version}, a...)...)
		}
	}
	start := time.Now()
	src, err := goimage.ModuleDir(ctx, s.Module, s.Version)
	if err != nil {
		return "", err
	}
	ws := filepath.Join(work, "ws")
	if err := copyTree(filepath.Join(src, s.Dir), ws, s.Skip); err != nil {
		return "", fmt.Errorf("web UI %s: %w", s.Module, err)
	}
	frozen := "--frozen-lockfile"
	if len(s.Overrides) > 0 {
		if err := addOverrides(filepath.Join(ws, "pnpm-workspace.yaml"), s.Overrides); err != nil {
			return "", fmt.Errorf("web UI %s: %w", s.Module, err)
		}
		frozen = "--no-frozen-lockfile"
	}
	pnpm, err := installPNPM(ctx, root, s.PNPM, logf)
	if err != nil {
		return "", err
	}
	env := append(os.Environ(), "PATH="+filepath.Dir(pnpm)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"CI=", "npm_config_cache="+filepath.Join(root, "npm-cache"))
	logf("pnpm install %s (once per version; npm registry)", s.Filter)
	if err := run(ctx, ws, env, pnpm, "install", frozen, "--store-dir", filepath.Join(root, "pnpm-store"), "--filter", s.Filter); err != nil {
		return "", err
	}
	logf("pnpm run %s", s.Script)
	if err := run(ctx, ws, env, pnpm, "run", s.Script); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(ws, s.Output), final); err != nil {
		if _, serr := os.Stat(final); serr == nil { // another labctl built it meanwhile
			return final, nil
		}
		return "", err
	}
	logf("built in %s (%s)", time.Since(start).Round(time.Second), filepath.Base(final))
	return final, nil
}

// installPNPM returns the pnpm command of version, installing it with npm
// under root when it is not there.
func installPNPM(ctx context.Context, root, version string, logf func(string, ...any)) (string, error) {
	dir := filepath.Join(root, "pnpm-"+version)
	bin := filepath.Join(dir, "node_modules", ".bin", "pnpm")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	logf("npm install pnpm@%s", version)
	tmp, err := os.MkdirTemp(root, ".pnpm-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := run(ctx, tmp, nil, "npm", "install", "--prefix", tmp, "--no-audit", "--no-fund", "pnpm@"+version); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(bin); serr == nil {
			return bin, nil
		}
		return "", err
	}
	return bin, nil
}

// addOverrides pins packages in a pnpm workspace file.
func addOverrides(path string, pins map[string]string) error {
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := map[string]any{}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	o, _ := doc["overrides"].(map[string]any)
	if o == nil {
		o = map[string]any{}
	}
	for k, v := range pins {
		o[k] = v
	}
	doc["overrides"] = o
	out, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

// run runs a command in dir; its error names it and the tail of what it
// printed.
func run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 3000 {
			msg = "..." + msg[len(msg)-3000:]
		}
		return fmt.Errorf("%s %s (in %s): %w: %s", filepath.Base(name), strings.Join(args, " "), dir, err, msg)
	}
	return nil
}
