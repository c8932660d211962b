package artifacts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/artifacts/goimage"
)

func TestToolsPinned(t *testing.T) {
	sum := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for _, tool := range Tools {
		if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(tool.Version) {
			t.Errorf("%s: version %q is not pinned to a release", tool.Name, tool.Version)
		}
		if len(tool.Checksums["amd64"]) == 0 {
			t.Errorf("%s: no amd64 checksum", tool.Name)
		}
		for arch, s := range tool.Checksums {
			if !sum.MatchString(s) {
				t.Errorf("%s/%s: checksum %q is not a sha256", tool.Name, arch, s)
			}
			if u := tool.Release(arch); !strings.HasPrefix(u, "https://") || !strings.Contains(u, tool.Version) {
				t.Errorf("%s/%s: release %q is not a pinned https URL", tool.Name, arch, u)
			}
		}
		if tool.Buildable() && !strings.Contains(tool.LDFlags, tool.Version) {
			t.Errorf("%s: ldflags %q do not stamp %s", tool.Name, tool.LDFlags, tool.Version)
		}
	}
}

func TestToolsRecipeHash(t *testing.T) {
	a, b := toolsRecipeHash("amd64"), toolsRecipeHash("arm64")
	if a == b || a != toolsRecipeHash("amd64") || len(a) != 20 {
		t.Errorf("hashes %s %s", a, b)
	}
	saved := Tools[0].Version
	Tools[0].Version = "0.0.1"
	defer func() { Tools[0].Version = saved }()
	if toolsRecipeHash("amd64") == a {
		t.Error("a changed pin keeps the same cache key")
	}
}

// A cache directory whose binary was truncated is not a hit.
func TestToolsManifestIncomplete(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "bin"), 0o755)
	os.WriteFile(filepath.Join(dir, "bin", "helm"), []byte("short"), 0o755)
	os.WriteFile(filepath.Join(dir, toolsManifestFile), []byte(`{"recipeHash":"h","artifacts":[{"name":"helm","path":"bin/helm","size":99}]}`), 0o644)
	if _, err := readToolsManifest(dir, "h"); err == nil || !strings.Contains(err.Error(), "incomplete") {
		t.Errorf("truncated cache read as complete: %v", err)
	}
	if _, err := readToolsManifest(dir, "other"); err == nil {
		t.Error("another recipe's cache read as a hit")
	}
}

// TestBuildToolsE2E builds helm and stern from their Go modules into the
// real cache and runs them.
func TestBuildToolsE2E(t *testing.T) {
	if os.Getenv("LABCTL_E2E") != "1" {
		t.Skip("set LABCTL_E2E=1 to build helm and stern for real")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	opts := ToolsOptions{Log: testLog{t}}
	m, err := BuildTools(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if out := run(t, m.Path("helm"), "version", "--short"); !strings.HasPrefix(out, "v3.22.0") {
		t.Errorf("helm version --short = %q", out)
	}
	if out := run(t, m.Path("stern"), "--version"); !strings.Contains(out, "1.34.0") {
		t.Errorf("stern --version = %q", out)
	}
	start := time.Now()
	m2, err := BuildTools(ctx, opts)
	if err != nil || m2.BuiltAt != m.BuiltAt {
		t.Fatalf("second BuildTools rebuilt or failed: %v", err)
	}
	t.Logf("cache hit in %s: %s", time.Since(start).Round(time.Microsecond), m.Dir)
}

// A cache-only lookup (up --dry-run) of an empty cache is a miss that
// builds, downloads and writes nothing.
func TestCacheOnlyMisses(t *testing.T) {
	dir := t.TempDir()
	if _, err := BuildTools(t.Context(), ToolsOptions{CacheDir: dir, CacheOnly: true}); !errors.Is(err, goimage.ErrNotCached) {
		t.Errorf("tools: %v", err)
	}
	if _, err := Build(t.Context(), Options{KubernetesVersion: "1.34.4", CacheDir: dir, CacheOnly: true}); !errors.Is(err, goimage.ErrNotCached) {
		t.Errorf("kubernetes artifacts: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("a cache-only lookup wrote %v", left)
	}
}
