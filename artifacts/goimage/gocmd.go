package goimage

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
	"sync"
)

func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// buildEnv is a static, reproducible cross build with the local toolchain,
// outside any workspace.
func buildEnv(arch string) []string {
	drop := map[string]bool{"GOFLAGS": true, "GOOS": true, "GOARCH": true, "CGO_ENABLED": true, "GOWORK": true, "GOTOOLCHAIN": true}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			env = append(env, kv)
		}
	}
	return append(env, "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0", "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly")
}

// output runs the go command in dir; its error names the command and the
// tail of what it printed.
func output(ctx context.Context, goBin, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 2000 {
			msg = "..." + msg[len(msg)-2000:]
		}
		return "", fmt.Errorf("go %s (in %s): %w: %s", strings.Join(args, " "), dir, err, msg)
	}
	return out.String(), nil
}

// moduleDir downloads module@version through the proxy (or finds it in
// the module cache) and returns its source directory.
func moduleDir(ctx context.Context, goBin, module, version string) (string, error) {
	out, err := output(ctx, goBin, os.TempDir(), buildEnv("amd64"), "mod", "download", "-json", module+"@"+version)
	if err != nil {
		return "", err
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w", module, version, err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", module, version, info.Error)
	}
	return info.Dir, nil
}

// FileSum is the hex sha256 of the file at p.
func FileSum(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var goVersions sync.Map // go command -> its GOVERSION

// goVersionOf asks the go command its version once per process.
func goVersionOf(ctx context.Context, goBin string) (string, error) {
	if v, ok := goVersions.Load(goBin); ok {
		return v.(string), nil
	}
	v, err := output(ctx, goBin, "", nil, "env", "GOVERSION")
	if err != nil {
		return "", err
	}
	v = strings.TrimSpace(v)
	goVersions.Store(goBin, v)
	return v, nil
}

// ModuleDir is module@version's source directory, downloaded through the
// module proxy when the module cache lacks it (read-only: copy what you
// would change).
func ModuleDir(ctx context.Context, module, version string) (string, error) {
	return moduleDir(ctx, goCommand(), module, version)
}

// withOverlay copies the module at dir under work, adds files (paths
// relative to the module root) and returns the copy.
func withOverlay(work, dir string, files map[string][]byte) (string, error) {
	for rel := range files {
		if filepath.IsAbs(rel) || !filepath.IsLocal(rel) {
			return "", fmt.Errorf("overlay path %q is not inside the module", rel)
		}
	}
	src := filepath.Join(work, "src")
	if err := os.CopyFS(src, os.DirFS(dir)); err != nil {
		return "", fmt.Errorf("copy of %s: %w", dir, err)
	}
	for rel, data := range files {
		p := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return "", err
		}
	}
	return src, nil
}
