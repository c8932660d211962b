package touched

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSinceSeesWritesChmodsAndNewFilesOnly(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"old", "written", "chmodded"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600)
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o700)
	os.WriteFile(filepath.Join(dir, "sub", "quiet"), []byte("x"), 0o600)
	s := Now(t)
	if got := Since(t, s, dir); len(got) != 0 {
		t.Fatalf("nothing changed yet, got %v", got)
	}
	os.ReadFile(filepath.Join(dir, "old")) // reading changes nothing
	os.WriteFile(filepath.Join(dir, "written"), []byte("y"), 0o600)
	os.Chmod(filepath.Join(dir, "chmodded"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "new"), []byte("x"), 0o600)
	got := strings.Join(Since(t, s, dir), " ")
	want := strings.Join([]string{filepath.Join(dir, "chmodded"), filepath.Join(dir, "sub"), filepath.Join(dir, "sub", "new"), filepath.Join(dir, "written")}, " ")
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
