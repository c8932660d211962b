package goimage

import (
	"context"
	"fmt"
	"os/exec"
	"runtime/debug"
	"strings"
)

// OwnModule is the root of labctl's own source, which its helper images
// are built from: the checkout containing dir when there is one, else the
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
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Path != module || info.Main.Version == "" || info.Main.Version == "(devel)" {
		return "", fmt.Errorf("labctl builds its helper images from its own source with the Go toolchain: run it from its checkout, or install a released version with `go install %s/cmd/labctl@VERSION`", module)
	}
	return moduleDir(ctx, g, module, info.Main.Version)
}
