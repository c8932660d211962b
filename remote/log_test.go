package remote

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHostLogRotates(t *testing.T) {
	old := MaxLogSize
	MaxLogSize = 1000
	t.Cleanup(func() { MaxLogSize = old })
	dir := t.TempDir()
	l := newHostLog(dir, "07/node3")
	out := []byte(strings.Repeat("x", 99) + "\n")
	for i := 0; i < 100; i++ { // 10 kB of output through a 1 kB cap
		l.write("cat big", out, "exit 0", time.Millisecond)
	}
	l.note("last")
	cur, err := os.ReadFile(filepath.Join(dir, "07-node3.log"))
	if err != nil {
		t.Fatal(err)
	}
	prev, err := os.ReadFile(filepath.Join(dir, "07-node3.log.1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cur) > 1200 || len(prev) > 1200 || !strings.HasSuffix(string(cur), "# labctl: last\n") {
		t.Fatalf("want two files of about the cap, the newest line last: %d and %d bytes", len(cur), len(prev))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("want the log and one rotated file, got %d files", len(entries))
	}
}
