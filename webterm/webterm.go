// Package webterm builds the attendees' browser terminal (the agent in
// ./cmd/labctl-webterm, its own main: labctl does not link it) and the
// xterm.js files it serves, both cached by recipe, and names what
// nodeprep installs on node1.
package webterm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/labctl/labctl/artifacts/webui"
)

const (
	// Package is the agent's main package in labctl's module.
	Package = "./webterm/cmd/labctl-webterm"
	// Binary is its name on the node (/usr/local/bin).
	Binary = "labctl-webterm"
	// User is the unprivileged system user it runs as.
	User = "labctl-webterm"
	// AssetDir holds xterm.js and friends on the node.
	AssetDir = "/usr/local/lib/labctl-webterm"
	// CountsFile is where the agent writes "LOGINS TERMINALS".
	CountsFile = "/run/labctl-webterm/counts"
	// recipeVersion changes when the build changes.
	recipeVersion = "labctl-webterm/1"
)

// Assets are xterm.js, its stylesheet and its fit add-on, from the npm
// registry: their dist files need no bundler.
func Assets() webui.Packages {
	return webui.Packages{
		Name:     "xterm",
		Versions: map[string]string{"@xterm/xterm": "6.0.0", "@xterm/addon-fit": "0.11.0"},
		Files: map[string]string{
			"xterm.js":     "@xterm/xterm/lib/xterm.js",
			"xterm.css":    "@xterm/xterm/css/xterm.css",
			"addon-fit.js": "@xterm/addon-fit/lib/addon-fit.js",
		},
	}
}

// File is one built file to install on node1.
type File struct {
	Name, Path, SHA256 string
}

// Built is the agent and its assets.
type Built struct {
	Binary File
	Assets []File
}

// Build returns the agent built from labctl's module at moduleDir for
// arch, and its assets, from cacheDir when their recipes are there.
func Build(ctx context.Context, moduleDir, cacheDir, arch string, log io.Writer) (*Built, error) {
	dir, err := webui.Fetch(ctx, Assets(), webui.Options{CacheDir: cacheDir, Log: log})
	if err != nil {
		return nil, fmt.Errorf("web terminal assets: %w", err)
	}
	b := &Built{}
	names := make([]string, 0, len(Assets().Files))
	for n := range Assets().Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f, err := fileOf(n, filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		b.Assets = append(b.Assets, f)
	}
	bin, err := buildAgent(ctx, moduleDir, cacheDir, arch, log)
	if err != nil {
		return nil, fmt.Errorf("web terminal agent: %w", err)
	}
	if b.Binary, err = fileOf(Binary, bin); err != nil {
		return nil, err
	}
	return b, nil
}

// buildAgent: the recipe is the Go version, the target and the sources
// the agent is built from (this package's tree and the module files).
func buildAgent(ctx context.Context, moduleDir, cacheDir, arch string, log io.Writer) (string, error) {
	goVersion, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\nlinux/%s\n", recipeVersion, strings.TrimSpace(string(goVersion)), arch)
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := hashFile(h, moduleDir, f); err != nil {
			return "", err
		}
	}
	err = filepath.WalkDir(filepath.Join(moduleDir, "webterm"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") {
			return err
		}
		rel, _ := filepath.Rel(moduleDir, p)
		return hashFile(h, moduleDir, rel)
	})
	if err != nil {
		return "", err
	}
	key := hex.EncodeToString(h.Sum(nil))[:20]
	final := filepath.Join(cacheDir, "webterm", Binary+"-"+arch+"-"+key)
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", err
	}
	if log != nil {
		fmt.Fprintf(log, "%s: go build (once per change of its sources)\n", Binary)
	}
	tmp := final + ".tmp"
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", tmp, Package)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w: %s", Package, err, strings.TrimSpace(string(out)))
	}
	return final, os.Rename(tmp, final)
}

func hashFile(h io.Writer, root, rel string) error {
	f, err := os.Open(filepath.Join(root, rel))
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(h, "%s\x00", filepath.ToSlash(rel))
	_, err = io.Copy(h, f)
	return err
}

func fileOf(name, path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return File{}, err
	}
	return File{Name: name, Path: path, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
