package webui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/labctl/labctl/artifacts/goimage"
)

// Packages are ready-built browser files from the npm registry (a library's
// dist files: no bundler), at pinned versions.
type Packages struct {
	// Name is the cache entry's name ("xterm").
	Name string
	// Versions pin each package ("@xterm/xterm": "6.0.0").
	Versions map[string]string
	// Files maps a file name in the result to its path under node_modules
	// ("xterm.js": "@xterm/xterm/lib/xterm.js").
	Files map[string]string
}

// Recipe is what decides the files: npm installs exact versions, which
// carry the registry's integrity hashes.
func (p Packages) Recipe() string {
	b, _ := json.Marshal([]any{recipeVersion, "npm", p})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:20]
}

// Fetch returns a directory holding p.Files: from the cache, or installed
// now with npm (once per recipe; --ignore-scripts: nothing of the
// packages runs here).
func Fetch(ctx context.Context, p Packages, opts Options) (string, error) {
	root := filepath.Join(opts.CacheDir, "webui")
	final := filepath.Join(root, p.Name+"-"+p.Recipe())
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	if opts.CacheOnly {
		return "", fmt.Errorf("%s: %w", p.Name, goimage.ErrNotCached)
	}
	if _, err := NodeVersion(ctx); err != nil {
		return "", err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(root, ".npm-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	var specs []string
	for name, v := range p.Versions {
		specs = append(specs, name+"@"+v)
	}
	sort.Strings(specs)
	if opts.Log != nil {
		fmt.Fprintf(opts.Log, "%s: npm install %s (once per version; npm registry)\n", p.Name, strings.Join(specs, " "))
	}
	env := append(os.Environ(), "npm_config_cache="+filepath.Join(root, "npm-cache"))
	args := append([]string{"install", "--prefix", work, "--no-audit", "--no-fund", "--ignore-scripts", "--save-exact"}, specs...)
	if err := run(ctx, work, env, "npm", args...); err != nil {
		return "", err
	}
	out := filepath.Join(work, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	for dst, src := range p.Files {
		if err := copyFile(filepath.Join(work, "node_modules", filepath.FromSlash(src)), filepath.Join(out, dst)); err != nil {
			return "", fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	if err := os.Rename(out, final); err != nil {
		if _, serr := os.Stat(final); serr == nil {
			return final, nil
		}
		return "", err
	}
	return final, nil
}
