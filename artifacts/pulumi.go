package artifacts

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
	"time"

	"golang.org/x/mod/semver"
)

// The pulumi CLI labctl builds when the machine has none recent enough:
// the Automation API runs it, and the module proxy serves its source. The
// replace is the one pkg/v3's own go.mod carries (a fork of the clipboard
// package), which a scratch module has to repeat.
const (
	PulumiVersion    = "v3.274.1"
	pulumiModule     = "github.com/pulumi/pulumi/pkg/v3"
	pulumiSDK        = "github.com/pulumi/pulumi/sdk/v3"
	pulumiPackage    = "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
	pulumiClipboard  = "github.com/atotto/clipboard"
	pulumiClipFork   = "github.com/tgummerer/clipboard"
	pulumiClipForkAt = "v0.0.0-20241001131231-d02d263e614e"
)

// MinPulumiVersion is the oldest pulumi CLI on PATH labctl uses as is.
const MinPulumiVersion = "v3.200.0"

// pulumiLDFlags stamp the version: without it `pulumi version` prints
// nothing, and the Automation API refuses the CLI.
const pulumiLDFlags = "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=" + PulumiVersion

// PulumiOptions says where to find or build the pulumi CLI.
type PulumiOptions struct {
	CacheDir string // default $XDG_CACHE_HOME/labctl/pulumi
	Go       string // default "go"
	Log      io.Writer
	// NoPath skips the pulumi on PATH (tests of the build).
	NoPath bool
}

// pulumiRecipeHash keys the cache by what is built.
func pulumiRecipeHash() string {
	h := sha256.New()
	fmt.Fprintf(h, "pulumi-recipe 1\n%s %s %s\n%s %s\n%s => %s %s\n%s\n", pulumiModule, pulumiSDK, PulumiVersion,
		pulumiPackage, "linux/amd64", pulumiClipboard, pulumiClipFork, pulumiClipForkAt, pulumiLDFlags)
	return hex.EncodeToString(h.Sum(nil))[:20]
}

// PulumiVersionOf runs `BIN version` and returns what it prints ("v3.274.1").
func PulumiVersionOf(ctx context.Context, bin string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "version")
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "PULUMI_SKIP_UPDATE_CHECK=true")
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s version: %w: %s", bin, err, tail(errb.String(), 500))
	}
	v := strings.TrimSpace(out.String())
	if !semver.IsValid(v) {
		return "", fmt.Errorf("%s version printed %q, not a version", bin, v)
	}
	return v, nil
}

// Pulumi returns the path of a pulumi CLI: the one on PATH when it is at
// least MinPulumiVersion, else labctl's build of PulumiVersion from the
// module proxy, made once into the cache (about 9 minutes of CPU).
func Pulumi(ctx context.Context, opts PulumiOptions) (string, error) {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if !opts.NoPath {
		if bin, err := exec.LookPath("pulumi"); err == nil {
			v, err := PulumiVersionOf(ctx, bin)
			if err == nil && semver.Compare(v, MinPulumiVersion) >= 0 {
				return bin, nil
			}
			fmt.Fprintf(opts.Log, "pulumi: %s is not usable (%s, want %s or newer): using labctl's build\n", bin, orErr(v, err), MinPulumiVersion)
		}
	}
	if opts.Go == "" {
		opts.Go = "go"
	}
	if opts.CacheDir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		opts.CacheDir = filepath.Join(d, "labctl", "pulumi")
	}
	hash := pulumiRecipeHash()
	final := filepath.Join(opts.CacheDir, hash)
	bin := filepath.Join(final, "bin", "pulumi")
	if readPulumiManifest(final, hash) == nil {
		return bin, nil
	}
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(ctx, final+".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if readPulumiManifest(final, hash) == nil {
		return bin, nil
	}
	if err := buildPulumi(ctx, opts, hash, final); err != nil {
		return "", fmt.Errorf("pulumi CLI: not on PATH (or older than %s), and building %s from the Go module proxy failed: %w", MinPulumiVersion, PulumiVersion, err)
	}
	return bin, nil
}

func orErr(v string, err error) string {
	if err != nil {
		return err.Error()
	}
	return v
}

func buildPulumi(ctx context.Context, opts PulumiOptions, hash, final string) error {
	logf := func(format string, args ...any) { fmt.Fprintf(opts.Log, "pulumi: "+format+"\n", args...) }
	gt := goTool{bin: opts.Go, log: logf}
	env, err := gt.goEnv(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(opts.CacheDir, ".tmp-"+hash+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	src, out := filepath.Join(tmp, "src"), filepath.Join(tmp, "out")
	// A build-tagged import keeps `go mod tidy` from dropping the modules.
	files := map[string][]byte{"tools.go": []byte("//go:build tools\n\npackage scratch\n\nimport _ \"" + pulumiPackage + "\"\n")}
	if err := pulumiScratch(src, env.GOVERSION, files); err != nil {
		return err
	}
	start := time.Now()
	logf("go build pulumi %s (once; about 9 minutes of CPU) ...", PulumiVersion)
	if _, err := gt.run(ctx, src, "amd64", "mod", "tidy"); err != nil {
		return err
	}
	bin := filepath.Join(out, "bin", "pulumi")
	if _, err := gt.run(ctx, src, "amd64", "build", "-trimpath", "-ldflags", pulumiLDFlags, "-o", bin, pulumiPackage); err != nil {
		return err
	}
	if v, err := PulumiVersionOf(ctx, bin); err != nil || v != PulumiVersion {
		return fmt.Errorf("the pulumi just built reports %q, want %s", orErr(v, err), PulumiVersion)
	}
	a := Artifact{Name: "pulumi", Path: "bin/pulumi", Kind: "binary", Version: PulumiVersion}
	if a.SHA256, a.Size, err = fileSHA256(bin); err != nil {
		return err
	}
	m := ToolsManifest{RecipeHash: hash, Arch: "amd64", GoVersion: env.GOVERSION, Artifacts: []Artifact{a}, BuiltAt: time.Now().UTC()}
	if err := publish(out, final, pulumiManifestFile, m); err != nil {
		return err
	}
	logf("go build pulumi: %s", time.Since(start).Round(time.Second))
	return nil
}

// pulumiScratch writes the scratch module that builds the CLI: pkg and sdk
// at the same version, and pkg's replace to another module path.
func pulumiScratch(dir, goVersion string, files map[string][]byte) error {
	requires := map[string]string{pulumiModule: PulumiVersion, pulumiSDK: PulumiVersion}
	if err := scratchModule(dir, goVersion, requires, nil, files); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, "go.mod"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "\nreplace %s => %s %s\n", pulumiClipboard, pulumiClipFork, pulumiClipForkAt)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

const pulumiManifestFile = "pulumi.json"

func readPulumiManifest(dir, hash string) error {
	data, err := os.ReadFile(filepath.Join(dir, pulumiManifestFile))
	if err != nil {
		return err
	}
	var m ToolsManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, pulumiManifestFile), err)
	}
	if m.RecipeHash != hash {
		return fmt.Errorf("%s: recipe %s, want %s", dir, m.RecipeHash, hash)
	}
	return complete(dir, m.Artifacts)
}
