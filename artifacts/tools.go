package artifacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/labctl/labctl/artifacts/goimage"
)

// Tool is an attendee tool shipped as a single Go binary. Its version is
// pinned here, twice over: the release archive nodes download when they
// have the Internet (checked against the published sha256), and the Go
// module labctl builds it from for offline classrooms.
type Tool struct {
	Name    string
	Version string // without "v"
	// Module and Package are what `go build` compiles; LDFlags stamp the
	// version the way upstream's release build does.
	Module, Package, LDFlags string
	// Release is the archive URL for an arch ("amd64", "arm64"), Member the
	// binary's path inside it, Checksums the archives' sha256 by arch.
	Release   func(arch string) string
	Member    func(arch string) string
	Checksums map[string]string
}

// Tools are the attendee tools' pins. kubectx and kubens have release
// archives only: their module is not served by the Go module proxy, so
// offline nodes take Debian's kubectx package (nodeprep.KubectxPackage).
var Tools = []Tool{
	{
		Name: "helm", Version: "3.22.0",
		Module: "helm.sh/helm/v3", Package: "helm.sh/helm/v3/cmd/helm",
		LDFlags: "-s -w -X helm.sh/helm/v3/internal/version.version=v3.22.0 -X helm.sh/helm/v3/internal/version.gitTreeState=clean",
		Release: func(arch string) string { return "https://get.helm.sh/helm-v3.22.0-linux-" + arch + ".tar.gz" },
		Member:  func(arch string) string { return "linux-" + arch + "/helm" },
		// From get.helm.sh's .sha256sum files.
		Checksums: map[string]string{
			"amd64": "1e4ab49e429626cf6c6958d914248b78c9730803c2751b87627e171dc800e7bb",
			"arm64": "f14e804dfee240f55525b667488fe9adca349e63e00c9af634c0beb1421ac310",
		},
	},
	{
		Name: "stern", Version: "1.34.0",
		Module: "github.com/stern/stern", Package: "github.com/stern/stern",
		LDFlags: "-s -w -X github.com/stern/stern/cmd.version=1.34.0",
		Release: func(arch string) string {
			return "https://github.com/stern/stern/releases/download/v1.34.0/stern_1.34.0_linux_" + arch + ".tar.gz"
		},
		Member:    func(string) string { return "stern" },
		Checksums: map[string]string{"amd64": "7754adfa653939240f7d20fff4ada9b69cda40c9e70732301f67bb8045f1ef3e"},
	},
	{
		Name: "kubectx", Version: "0.9.5",
		Release: func(string) string {
			return "https://github.com/ahmetb/kubectx/releases/download/v0.9.5/kubectx_v0.9.5_linux_x86_64.tar.gz"
		},
		Member:    func(string) string { return "kubectx" },
		Checksums: map[string]string{"amd64": "a2247ffd23e79f89abdd0e8173379d7172511f02a3f63c9936d3824e0dd60648"},
	},
	{
		Name: "kubens", Version: "0.9.5",
		Release: func(string) string {
			return "https://github.com/ahmetb/kubectx/releases/download/v0.9.5/kubens_v0.9.5_linux_x86_64.tar.gz"
		},
		Member:    func(string) string { return "kubens" },
		Checksums: map[string]string{"amd64": "acc1a9c7f6b722fbe5fad25dd0e784a7335d18436b9c414ab996629e82702cba"},
	},
}

// ReleaseArches are the node architectures for which every tool has a
// pinned release checksum.
func ReleaseArches() []string {
	var arches []string
	for _, arch := range []string{"amd64", "arm64"} {
		all := true
		for _, t := range Tools {
			all = all && t.Checksums[arch] != ""
		}
		if all {
			arches = append(arches, arch)
		}
	}
	return arches
}

// Buildable reports whether labctl can build the tool from Go modules.
func (t Tool) Buildable() bool { return t.Module != "" }

// ToolsOptions says where to build the tools.
type ToolsOptions struct {
	Arch     string // default amd64
	CacheDir string // default $XDG_CACHE_HOME/labctl/tools
	Go       string // default "go"
	Log      io.Writer
	// CacheOnly: a miss is goimage.ErrNotCached, nothing is built.
	CacheOnly bool
}

// ToolsManifest describes a finished tools build (tools.json).
type ToolsManifest struct {
	RecipeHash string     `json:"recipeHash"`
	Arch       string     `json:"arch"`
	GoVersion  string     `json:"goVersion"`
	Artifacts  []Artifact `json:"artifacts"`
	BuiltAt    time.Time  `json:"builtAt"`
	Dir        string     `json:"-"`
}

// Path returns the absolute path of the named tool's binary, or "".
func (m *ToolsManifest) Path(name string) string { return pathOf(m.Dir, m.Artifacts, name) }

// toolsRecipeHash keys the cache by what is built: the tools' pinned
// versions and flags and the arch. The Go toolchain is recorded, not keyed:
// a cache hit then costs no `go` process, which keeps a re-run fast.
func toolsRecipeHash(arch string) string {
	h := sha256.New()
	fmt.Fprintf(h, "tools-recipe 1\narch %s\n", arch)
	for _, t := range Tools {
		if t.Buildable() {
			fmt.Fprintf(h, "%s %s %s %s %s\n", t.Name, t.Module, t.Version, t.Package, t.LDFlags)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// BuildTools returns the cached build of the buildable tools for opts.Arch,
// building it first if needed (one scratch module per tool, so each keeps
// exactly the dependencies its own go.mod pins).
func BuildTools(ctx context.Context, opts ToolsOptions) (*ToolsManifest, error) {
	if opts.Arch == "" {
		opts.Arch = "amd64"
	}
	if opts.Go == "" {
		opts.Go = "go"
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.CacheDir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return nil, err
		}
		opts.CacheDir = filepath.Join(d, "labctl", "tools")
	}
	hash := toolsRecipeHash(opts.Arch)
	final := filepath.Join(opts.CacheDir, hash)
	if m, err := readToolsManifest(final, hash); err == nil {
		return m, nil
	}
	if opts.CacheOnly {
		return nil, fmt.Errorf("tools: %w", goimage.ErrNotCached)
	}
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(ctx, final+".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if m, err := readToolsManifest(final, hash); err == nil {
		return m, nil
	}
	return buildTools(ctx, opts, hash, final)
}

func buildTools(ctx context.Context, opts ToolsOptions, hash, final string) (*ToolsManifest, error) {
	logf := func(format string, args ...any) { fmt.Fprintf(opts.Log, "tools: "+format+"\n", args...) }
	gt := goTool{bin: opts.Go, log: logf}
	env, err := gt.goEnv(ctx)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(opts.CacheDir, ".tmp-"+hash+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "out")
	m := &ToolsManifest{RecipeHash: hash, Arch: opts.Arch, GoVersion: env.GOVERSION}
	for _, t := range Tools {
		if !t.Buildable() {
			continue
		}
		start := time.Now()
		logf("go build %s v%s for linux/%s ...", t.Name, t.Version, opts.Arch)
		src := filepath.Join(tmp, "src", t.Name)
		if err := scratchModule(src, env.GOVERSION, map[string]string{t.Module: "v" + t.Version}, nil, map[string][]byte{}); err != nil {
			return nil, err
		}
		bin := filepath.Join(out, "bin", t.Name)
		if _, err := gt.run(ctx, src, opts.Arch, "build", "-trimpath", "-ldflags", t.LDFlags, "-o", bin, t.Package); err != nil {
			return nil, fmt.Errorf("tool %s: %w", t.Name, err)
		}
		a := Artifact{Name: t.Name, Path: "bin/" + t.Name, Kind: "binary", Version: t.Version}
		if a.SHA256, a.Size, err = fileSHA256(bin); err != nil {
			return nil, err
		}
		m.Artifacts = append(m.Artifacts, a)
		logf("go build %s: %s", t.Name, time.Since(start).Round(time.Second))
	}
	m.BuiltAt = time.Now().UTC()
	if err := publish(out, final, toolsManifestFile, m); err != nil {
		return nil, err
	}
	m.Dir = final
	return m, nil
}

const toolsManifestFile = "tools.json"

func readToolsManifest(dir, hash string) (*ToolsManifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, toolsManifestFile))
	if err != nil {
		return nil, err
	}
	var m ToolsManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, toolsManifestFile), err)
	}
	if m.RecipeHash != hash {
		return nil, fmt.Errorf("%s: recipe %s, want %s", dir, m.RecipeHash, hash)
	}
	if err := complete(dir, m.Artifacts); err != nil {
		return nil, err
	}
	m.Dir = dir
	return &m, nil
}
