package preload

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/labctl/labctl/remote"
)

func TestMissing(t *testing.T) {
	list := []byte("docker.io/library/redis:7\nregistry.k8s.io/pause:3.10\n localhost/labctl/netcheck:abc \n")
	got := Missing(list, []string{"redis:7", "localhost/labctl/netcheck:abc", "dockercoins/worker:v0.1", "registry.k8s.io/pause:3.10", "busybox"})
	if want := []string{"busybox", "dockercoins/worker:v0.1"}; !slices.Equal(got, want) {
		t.Errorf("missing %q, want %q", got, want)
	}
	for ref, want := range map[string]string{
		"busybox": "docker.io/library/busybox", "dockercoins/worker:v0.1": "docker.io/dockercoins/worker:v0.1",
		"localhost/x:1": "localhost/x:1", "mirror:5000/x": "mirror:5000/x", "registry.k8s.io/pause:3.10": "registry.k8s.io/pause:3.10",
	} {
		if got := FullRef(ref); got != want {
			t.Errorf("FullRef(%q) = %q, want %q", ref, got, want)
		}
	}
}

// The archive goes up, is imported, then runs; it is removed even when
// the import fails, and then does not run.
func TestImport(t *testing.T) {
	archive := filepath.Join(t.TempDir(), "images.tar")
	os.WriteFile(archive, []byte("tar"), 0o644)
	const dest = "/var/lib/labctl/stage/x.tar"
	ok := remote.NewFake("01/node1").On(`^ctr -n k8s\.io images import /var/lib/labctl/stage/x\.tar$`, "", 0).On(`^rm -f /var/lib/labctl/stage/x\.tar$`, "", 0)
	ran := false
	if err := Import(context.Background(), ok, archive, dest, func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("Import: %v, then ran %v", err, ran)
	}
	if data, up := ok.Uploaded(dest); !up || string(data) != "tar" {
		t.Errorf("uploaded %q %v", data, up)
	}
	if calls := ok.Calls(); !slices.Equal(calls[len(calls)-2:], []string{ImportLine(dest), "rm -f " + dest}) {
		t.Errorf("calls %q", calls)
	}
	bad := remote.NewFake("01/node2").On(`images import`, "ctr: not found", 1).On(`^rm -f `, "", 0)
	ran = false
	err := Import(context.Background(), bad, archive, dest, func() error { ran = true; return nil })
	if err == nil || ran || !strings.Contains(err.Error(), "ctr: not found") || !slices.Contains(bad.Calls(), "rm -f "+dest) {
		t.Errorf("failed import: %v, then ran %v, calls %q", err, ran, bad.Calls())
	}
}
