package images

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/labctl/labctl/artifacts/goimage"
)

// A cache-only lookup (up --dry-run) of empty caches is a miss that
// builds nothing and writes nothing, Redis's layers included.
func TestCacheOnlyMisses(t *testing.T) {
	moduleDir, err := FindModule(context.Background(), ".")
	if err != nil {
		t.Fatal(err)
	}
	dir, redis := t.TempDir(), t.TempDir()
	_, err = Build(context.Background(), Options{Dir: dir, RedisCache: redis, ModuleDir: moduleDir, Keyed: true, CacheOnly: true})
	if !errors.Is(err, goimage.ErrNotCached) {
		t.Fatalf("cache-only build of empty caches: %v", err)
	}
	for _, d := range []string{dir, redis} {
		if left, _ := os.ReadDir(d); len(left) != 0 {
			t.Errorf("a cache-only lookup wrote %v in %s", left, d)
		}
	}
}
