package webterm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/artifacts/goimage"
)

// TestBuildCachedByRecipe builds the agent and fetches xterm.js from the
// npm registry once; the second call, cache-only, is a hit that runs
// nothing.
func TestBuildCachedByRecipe(t *testing.T) {
	if os.Getenv("LABCTL_E2E") == "" {
		t.Skip("needs npm and the Go toolchain (set LABCTL_E2E=1)")
	}
	ctx := context.Background()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	var log bytes.Buffer
	// A cache-only lookup (up --dry-run) of an empty cache builds nothing.
	if _, err := Build(ctx, root, cache, "amd64", &log, true); !errors.Is(err, goimage.ErrNotCached) {
		t.Fatalf("cache-only lookup of an empty cache: %v", err)
	}
	if left, _ := os.ReadDir(cache); len(left) != 0 || log.Len() != 0 {
		t.Fatalf("cache-only lookup wrote %v, printed %q", left, log.String())
	}
	b, err := Build(ctx, root, cache, "amd64", &log, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "npm install") || !strings.Contains(log.String(), "go build") {
		t.Errorf("first build printed %q", log.String())
	}
	if len(b.Assets) != 3 || b.Binary.SHA256 == "" {
		t.Fatalf("built %+v", b)
	}
	js, err := os.ReadFile(filepath.Join(filepath.Dir(b.Assets[2].Path), "xterm.js"))
	if err != nil || !bytes.Contains(js, []byte("Terminal")) {
		t.Fatalf("xterm.js: %v (%d bytes)", err, len(js))
	}
	log.Reset()
	start := time.Now()
	b2, err := Build(ctx, root, cache, "amd64", &log, true)
	if err != nil {
		t.Fatal(err)
	}
	if log.Len() != 0 || b2.Binary != b.Binary {
		t.Errorf("second build was not a cache hit (%s): %q", time.Since(start), log.String())
	}
}
