package images

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestPruneKeyed(t *testing.T) {
	parent := t.TempDir()
	old := time.Now().Add(-8 * 24 * time.Hour)
	for name, mtime := range map[string]time.Time{
		"0123456789abcdef": old,        // another version's build, unused: removed
		"fedcba9876543210": old,        // this run's: kept
		"00112233445566aa": time.Now(), // another checkout's, in use: kept
		"oci":              old,        // not a keyed build
		"notahexname12345": old,
	} {
		p := filepath.Join(parent, name)
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	var logged []string
	pruneKeyed(parent, "fedcba9876543210", func(f string, a ...any) { logged = append(logged, f) })
	entries, _ := os.ReadDir(parent)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{"00112233445566aa", "fedcba9876543210", "notahexname12345", "oci"}
	if !slices.Equal(left, want) || len(logged) != 1 {
		t.Errorf("left %q (logged %d), want %q", left, len(logged), want)
	}
}
