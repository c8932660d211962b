package kind

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Runtime is the container engine kind drives here: podman (this
// machine), or docker where that is what a machine has.
type Runtime struct {
	Name string // "podman" or "docker"
	// Env is added to the environment of every command, kind's included
	// (CONTAINERS_CONF: see containersConf).
	Env []string
}

// ErrNoRuntime is a machine with neither podman nor docker.
var ErrNoRuntime = errors.New("no container runtime found: the kind provider needs podman (with runc) or docker")

// lookPath is exec.LookPath; tests replace it.
var lookPath = exec.LookPath

// DetectRuntime picks podman, else docker. A docker command that is only a
// client (no engine answers) does not count.
func DetectRuntime(ctx context.Context, confDir string) (*Runtime, error) {
	if _, err := lookPath("podman"); err == nil {
		conf := filepath.Join(confDir, "containers.conf")
		if err := writeIfChanged(conf, containersConf); err != nil {
			return nil, fmt.Errorf("kind: writing %s: %w", conf, err)
		}
		return &Runtime{Name: "podman", Env: []string{"CONTAINERS_CONF=" + conf}}, nil
	}
	if _, err := lookPath("docker"); err == nil {
		rt := &Runtime{Name: "docker"}
		if out, err := rt.Command(ctx, "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("%w (docker is installed but its engine does not answer: %s)", ErrNoRuntime, tail(out))
		}
		return rt, nil
	}
	return nil, ErrNoRuntime
}

// containersConf is labctl's own podman configuration, given to the
// podman that kind runs (and only to it) through CONTAINERS_CONF: systemd
// in a node needs runc (crun refuses cgroup v1 hybrid hosts) and limits
// podman would otherwise lower then fail to raise. The host's podman
// defaults stay as they are for everyone else.
const containersConf = `# Written by labctl for its kind clusters; do not edit.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
`

func writeIfChanged(path, body string) error {
	if b, err := os.ReadFile(path); err == nil && string(b) == body {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Command is the runtime's CLI with args, in labctl's environment.
func (rt *Runtime) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, rt.Name, args...)
	cmd.Env = append(os.Environ(), rt.Env...)
	return cmd
}

// Output runs a command and returns its trimmed stdout; errors carry stderr.
func (rt *Runtime) Output(ctx context.Context, args ...string) (string, error) {
	cmd := rt.Command(ctx, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", rt.Name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// ImageExists says whether the runtime has ref.
func (rt *Runtime) ImageExists(ctx context.Context, ref string) bool {
	if rt.Name == "podman" {
		return rt.Command(ctx, "image", "exists", ref).Run() == nil
	}
	return rt.Command(ctx, "image", "inspect", ref).Run() == nil
}

// Setenv puts the runtime's environment into this process, for the kind
// library (which runs the runtime's CLI with the process environment).
func (rt *Runtime) Setenv() error {
	for _, kv := range rt.Env {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return nil
}
