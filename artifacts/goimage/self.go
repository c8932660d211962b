package goimage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"golang.org/x/mod/modfile"
)

// OwnModule is the root of labctl's own source, which its helper images
// are built from: the checkout containing dir when there is one, else the
// sources this binary was built from when they are still there, else the
// module version this binary was built from (`go install ...@version`),
// downloaded through the module proxy.
func OwnModule(ctx context.Context, dir, module string) (string, error) {
	g := goCommand()
	cmd := exec.CommandContext(ctx, g, "list", "-m", "-f", "{{.Path}} {{.Dir}}")
	cmd.Dir = dir
	if out, err := cmd.Output(); err == nil {
		path, root, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
		if path == module && root != "" {
			return root, nil
		}
	}
	// A binary built from a checkout (or installed from the module cache)
	// knows where its sources were, unless built with -trimpath.
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
		if data, err := os.ReadFile(filepath.Join(root, "go.mod")); err == nil && modfile.ModulePath(data) == module {
			return root, nil
		}
	}
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Path != module || info.Main.Version == "" || info.Main.Version == "(devel)" {
		return "", fmt.Errorf("labctl builds its helper images from its own source with the Go toolchain: run it from its checkout, or install a released version with `go install %s/cmd/labctl@VERSION`", module)
	}
	return moduleDir(ctx, g, module, info.Main.Version)
}
