package artifacts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// goTool runs the go command with a controlled environment: the local
// toolchain only (its version is part of the recipe), no workspace, no cgo,
// modules resolved through the configured proxy.
type goTool struct {
	bin string
	log func(format string, args ...any)
}

func (g goTool) env(arch string) []string {
	drop := map[string]bool{"GOFLAGS": true, "GOOS": true, "GOARCH": true, "CGO_ENABLED": true,
		"GOWORK": true, "GO111MODULE": true, "GOTOOLCHAIN": true}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	return append(env, "GOFLAGS=-mod=mod -buildvcs=false", "GOOS=linux", "GOARCH="+arch,
		"CGO_ENABLED=0", "GOWORK=off", "GO111MODULE=on", "GOTOOLCHAIN=local")
}

// run executes `go args...` in dir; on failure the error carries the command
// and the tail of what it printed.
func (g goTool) run(ctx context.Context, dir, arch string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, g.bin, args...)
	cmd.Dir = dir
	cmd.Env = g.env(arch)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s (in %s): %w: %s", strings.Join(shorten(args), " "), dir, err, tail(errb.String(), 3000))
	}
	return out.Bytes(), nil
}

// shorten keeps an error message readable when -ldflags is long.
func shorten(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if len(a) > 120 {
			a = a[:117] + "..."
		}
		out[i] = a
	}
	return out
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

type goEnv struct {
	GOVERSION  string
	GOMODCACHE string
}

func (g goTool) goEnv(ctx context.Context) (goEnv, error) {
	out, err := g.run(ctx, os.TempDir(), "amd64", "env", "-json", "GOVERSION", "GOMODCACHE")
	if err != nil {
		return goEnv{}, err
	}
	var e goEnv
	if err := json.Unmarshal(out, &e); err != nil {
		return goEnv{}, fmt.Errorf("go env: %w", err)
	}
	if e.GOVERSION == "" || e.GOMODCACHE == "" {
		return goEnv{}, fmt.Errorf("go env: GOVERSION or GOMODCACHE empty")
	}
	return e, nil
}

// moduleDir returns the extracted source of module@version, downloading it
// through the module proxy only when it is not in the module cache yet.
func (g goTool) moduleDir(ctx context.Context, env goEnv, module, version string) (string, error) {
	if inModuleCache(env, module, version) {
		return filepath.Join(env.GOMODCACHE, escapeModulePath(module)+"@"+version), nil
	}
	out, err := g.run(ctx, os.TempDir(), "amd64", "mod", "download", "-json", module+"@"+version)
	if err != nil {
		return "", err
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", module, version, err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", module, version, info.Error)
	}
	return info.Dir, nil
}

// inModuleCache says whether module@version's source is in the module
// cache already (moduleDir would not download it).
func inModuleCache(env goEnv, module, version string) bool {
	_, err := os.Stat(filepath.Join(env.GOMODCACHE, escapeModulePath(module)+"@"+version, "go.mod"))
	return err == nil
}

// escapeModulePath is the module cache's case encoding: "A" -> "!a".
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// scratchModule writes a go.mod that requires the given modules (and applies
// the replaces), plus extra files, into dir.
func scratchModule(dir, goVersion string, requires map[string]string, replaces []Replace, files map[string][]byte) error {
	var b strings.Builder
	fmt.Fprintf(&b, "module labctl.local/scratch\n\ngo %s\n\nrequire (\n", strings.TrimPrefix(goVersion, "go"))
	for _, m := range sortedKeys(requires) {
		fmt.Fprintf(&b, "\t%s %s\n", m, requires[m])
	}
	b.WriteString(")\n")
	if len(replaces) > 0 {
		b.WriteString("\nreplace (\n")
		for _, r := range replaces {
			fmt.Fprintf(&b, "\t%s => %s %s\n", r.Path, r.Path, r.Version)
		}
		b.WriteString(")\n")
	}
	files["go.mod"] = []byte(b.String())
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// k8sLDFlags stamps the version the way Kubernetes' own build does, so that
// `kubeadm version -o short` prints it and kubeadm's version skew checks pass.
// buildDate is the upstream commit time: reproducible, and honest.
func k8sLDFlags(version string, minor int, commitTime time.Time) string {
	var parts []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		parts = append(parts,
			"-X "+pkg+".gitVersion="+version,
			"-X "+pkg+".gitMajor=1",
			fmt.Sprintf("-X %s.gitMinor=%d", pkg, minor),
			"-X "+pkg+".gitTreeState=archive",
			"-X "+pkg+".buildDate="+commitTime.UTC().Format(time.RFC3339))
	}
	return "-s -w " + strings.Join(parts, " ")
}

// moduleTime reads the commit time the module proxy records for a version.
func moduleTime(env goEnv, module, version string) (time.Time, error) {
	p := filepath.Join(env.GOMODCACHE, "cache", "download", escapeModulePath(module), "@v", version+".info")
	b, err := os.ReadFile(p)
	if err != nil {
		return time.Time{}, err
	}
	var info struct{ Time time.Time }
	if err := json.Unmarshal(b, &info); err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", p, err)
	}
	return info.Time, nil
}
