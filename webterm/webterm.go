// Package webterm builds the attendees' browser terminal (the agent in
// ./cmd/labctl-webterm, its own main: labctl does not link it) and the
// xterm.js files it serves, both cached by recipe, and names what
// nodeprep installs on node1.
package webterm

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"

	"github.com/labctl/labctl/artifacts/goimage"
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
//
// cacheOnly builds nothing: what is not cached yet is
// goimage.ErrNotCached.
func Build(ctx context.Context, moduleDir, cacheDir, arch string, log io.Writer, cacheOnly bool) (*Built, error) {
	dir, err := webui.Fetch(ctx, Assets(), webui.Options{CacheDir: cacheDir, Log: log, CacheOnly: cacheOnly})
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
	bin, err := buildAgent(ctx, moduleDir, cacheDir, arch, log, cacheOnly)
	if err != nil {
		return nil, fmt.Errorf("web terminal agent: %w", err)
	}
	if b.Binary, err = fileOf(Binary, bin); err != nil {
		return nil, err
	}
	return b, nil
}

// buildAgent is the agent for linux/arch, built as labctl's other
// programs are (goimage.BuildTool) and cached by their recipe.
func buildAgent(ctx context.Context, moduleDir, cacheDir, arch string, log io.Writer, cacheOnly bool) (string, error) {
	return goimage.BuildTool(ctx, goimage.Tool{Dir: moduleDir, Package: Package, Name: Binary, Arch: arch},
		goimage.Options{CacheDir: filepath.Join(cacheDir, "webterm"), Log: log, CacheOnly: cacheOnly})
}

func fileOf(name, path string) (File, error) {
	sum, err := goimage.FileSum(path)
	return File{Name: name, Path: path, SHA256: sum}, err
}
