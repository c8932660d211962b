package artifacts

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPulumiScratchModule(t *testing.T) {
	dir := t.TempDir()
	if err := pulumiScratch(dir, "go1.26.8", map[string][]byte{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\tgithub.com/pulumi/pulumi/pkg/v3 v3.274.1\n",
		"\tgithub.com/pulumi/pulumi/sdk/v3 v3.274.1\n",
		"\nreplace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("go.mod lacks %q:\n%s", want, b)
		}
	}
	if h := pulumiRecipeHash(); len(h) != 20 || h != pulumiRecipeHash() {
		t.Errorf("recipe hash %q", h)
	}
}

func TestPulumiVersionOfRefusesGarbage(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "pulumi")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := PulumiVersionOf(context.Background(), fake); err == nil || !strings.Contains(err.Error(), "not a version") {
		t.Errorf("an unstamped pulumi: %v", err)
	}
}

// TestPulumiCLIE2E builds the pulumi CLI into the real cache (about 9
// minutes of CPU cold; a link when Go's build cache is warm) and checks the
// version the Automation API reads. LABCTL_PULUMI_CACHE overrides the cache.
func TestPulumiCLIE2E(t *testing.T) {
	if os.Getenv("LABCTL_E2E") != "1" {
		t.Skip("set LABCTL_E2E=1 to build the pulumi CLI for real")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	start := time.Now()
	bin, err := Pulumi(ctx, PulumiOptions{NoPath: true, CacheDir: os.Getenv("LABCTL_PULUMI_CACHE"), Log: testLog{t}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("pulumi CLI: %s in %s", bin, time.Since(start).Round(time.Millisecond))
	v, err := PulumiVersionOf(ctx, bin)
	if err != nil || v != PulumiVersion {
		t.Fatalf("version %q, %v; want %s", v, err, PulumiVersion)
	}
	start = time.Now()
	if again, err := Pulumi(ctx, PulumiOptions{NoPath: true, CacheDir: os.Getenv("LABCTL_PULUMI_CACHE")}); err != nil || again != bin {
		t.Fatalf("second call: %s, %v", again, err)
	}
	t.Logf("cache hit: %s", time.Since(start).Round(time.Millisecond))
}
