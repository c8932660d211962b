// Package images builds the DockerCoins container images without a Docker
// daemon, ko-style: the services are cross-compiled as static binaries with
// the Go toolchain and laid on a tiny base built here (no base image is
// pulled), for linux/amd64 and linux/arm64, as multi-arch OCI indexes.
//
// The output directory holds an OCI image layout (oci/, for pushing with
// crane or skopeo) and the same layout as one tar archive
// (dockercoins-images.tar) that `ctr -n k8s.io images import` loads into a
// node's containerd.
package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Module is the import path of the labctl module holding the services.
const Module = "github.com/labctl/labctl"

// Arches are the architectures every image is built for.
var Arches = []string{"amd64", "arm64"}

// Target is one image tag: which service, built how.
type Target struct {
	Repo    string // dockercoins/worker
	Tag     string // v0.1
	Service string // worker
	LDFlags string // extra -ldflags, e.g. "-X main.firstSleep=1s"
}

// Ref is the target's image reference, e.g. dockercoins/worker:v0.1.
func (t Target) Ref() string { return t.Repo + ":" + t.Tag }

// FullRef is the reference as containerd names it.
func (t Target) FullRef() string { return "docker.io/" + t.Ref() }

// Targets are the five tags the course uses; there is no "latest" and never a
// v0.3 (the broken-rollout exercise relies on v0.3 not existing).
var Targets = []Target{
	{Repo: "dockercoins/rng", Tag: "v0.1", Service: "rng"},
	{Repo: "dockercoins/hasher", Tag: "v0.1", Service: "hasher"},
	{Repo: "dockercoins/worker", Tag: "v0.1", Service: "worker"},
	{Repo: "dockercoins/webui", Tag: "v0.1", Service: "webui"},
	// v0.2 is the same source with the first sleep at 1 s.
	{Repo: "dockercoins/worker", Tag: "v0.2", Service: "worker", LDFlags: "-X main.firstSleep=1s"},
}

// FullRefs are the references of every image of the archive (the targets,
// then Redis under its two tags), as `ctr images ls -q` prints them.
func FullRefs() []string {
	refs := make([]string, 0, len(Targets)+2)
	for _, t := range Targets {
		refs = append(refs, t.FullRef())
	}
	return append(refs, RedisRef, RedisLatestRef)
}

// MirrorPackage is the node-local docker.io mirror that serves the layout
// on every node (coins/mirror); it is compiled with the services.
const MirrorPackage = "./coins/mirror/cmd/labctl-mirror"

// MirrorBinary is the mirror's file name on the nodes and in a build.
const MirrorBinary = "labctl-mirror"

// FindModule returns the root of the labctl source tree containing dir, where
// the services are compiled from.
func FindModule(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, goTool(), "list", "-m", "-f", "{{.Path}} {{.Dir}}")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("images are compiled from the labctl sources with the Go toolchain; run this inside the labctl checkout (go list -m in %s: %v)", dir, err)
	}
	path, root, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if path != Module {
		return "", fmt.Errorf("%s is module %q, not %s: run this inside the labctl checkout", dir, path, Module)
	}
	return root, nil
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// goVersion is part of the cache key: a new toolchain makes new binaries.
func goVersion(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, goTool(), "env", "GOVERSION").Output()
	return strings.TrimSpace(string(out)), err
}

// binaryName is where a target's binary for arch is compiled to: targets
// built with the same flags share a directory, named after the flags.
func binaryName(binDir string, t Target, arch string) string {
	return filepath.Join(binDir, arch, flagsDir(t.LDFlags), t.Service)
}

func flagsDir(ldflags string) string {
	if ldflags == "" {
		return "default"
	}
	return fmt.Sprintf("%x", sha256.Sum256([]byte(ldflags)))[:12]
}

// compile cross-compiles every target for every arch into binDir: static
// (CGO_ENABLED=0), stripped, reproducible (-trimpath, no VCS stamp). One go
// build per arch and set of flags, so that packages load and link together.
func compile(ctx context.Context, moduleDir, binDir string) error {
	var flags []string
	groups := map[string][]string{}
	for _, t := range Targets {
		if _, ok := groups[t.LDFlags]; !ok {
			flags = append(flags, t.LDFlags)
		}
		groups[t.LDFlags] = append(groups[t.LDFlags], "./coins/"+t.Service)
	}
	groups[""] = append(groups[""], MirrorPackage)
	var wg sync.WaitGroup
	errs := make([]error, len(Arches))
	for i, arch := range Arches {
		wg.Go(func() {
			for _, ldflags := range flags {
				out := filepath.Join(binDir, arch, flagsDir(ldflags)) + string(filepath.Separator)
				args := append([]string{"build", "-trimpath", "-buildvcs=false",
					"-ldflags", strings.TrimSpace("-s -w " + ldflags), "-o", out}, groups[ldflags]...)
				cmd := exec.CommandContext(ctx, goTool(), args...)
				cmd.Dir = moduleDir
				cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Run(); err != nil {
					errs[i] = fmt.Errorf("GOARCH=%s go %s: %v\n%s", arch, strings.Join(args, " "), err, stderr.String())
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
