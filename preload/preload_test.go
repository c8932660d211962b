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
	refs := []string{"localhost/labctl/netcheck:abc"}
	script, err := Script(Archive{Path: dest, Refs: refs})
	if err != nil {
		t.Fatal(err)
	}
	ok := remote.NewFake("01/node1").On(`^# preload: import /var/lib/labctl/stage/x\.tar `, "", 0).On(`^rm -f /var/lib/labctl/stage/x\.tar$`, "", 0)
	ran := false
	if err := Import(context.Background(), ok, archive, dest, refs, func() error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("Import: %v, then ran %v", err, ran)
	}
	if data, up := ok.Uploaded(dest); !up || string(data) != "tar" {
		t.Errorf("uploaded %q %v", data, up)
	}
	if calls := ok.Calls(); !slices.Equal(calls[len(calls)-2:], []string{script, "rm -f " + dest}) {
		t.Errorf("calls %q", calls)
	}
	bad := remote.NewFake("01/node2").On(`^# preload: import `, "ctr: not found", 1).On(`^rm -f `, "", 0)
	ran = false
	err = Import(context.Background(), bad, archive, dest, refs, func() error { ran = true; return nil })
	if err == nil || ran || !strings.Contains(err.Error(), "ctr: not found") || !slices.Contains(bad.Calls(), "rm -f "+dest) {
		t.Errorf("failed import: %v, then ran %v, calls %q", err, ran, bad.Calls())
	}
	// A name the script would not take uploads nothing.
	none := remote.NewFake("01/node3")
	if err := Import(context.Background(), none, archive, dest, []string{"x:1; reboot"}, nil); err == nil || len(none.Calls()) > 0 {
		t.Errorf("bad ref: %v, calls %q", err, none.Calls())
	}
	if _, up := none.Uploaded(dest); up {
		t.Error("bad ref: archive uploaded")
	}
}

// What a node lists is its own: lines that are not a wanted reference
// (long, odd, lookalikes) change nothing but the answer's subset of want.
func TestMissingHostileList(t *testing.T) {
	list := []byte("registry.k8s.io/pause:3.10.1x\n\x1b[2Jregistry.k8s.io/etcd:3.6.5-0\nregistry.k8s.io/coredns/coredns:v1.12.1\n" +
		strings.Repeat("A", 1<<20) + "\nregistry.k8s.io/kube-proxy:v1.34.4\n")
	want := []string{"registry.k8s.io/pause:3.10.1", "registry.k8s.io/etcd:3.6.5-0", "registry.k8s.io/coredns/coredns:v1.12.1", "registry.k8s.io/kube-proxy:v1.34.4"}
	// kube-proxy comes after the over-long line: unread, it counts as lacking.
	if got := Missing(list, want); !slices.Equal(got, []string{"registry.k8s.io/etcd:3.6.5-0", "registry.k8s.io/kube-proxy:v1.34.4", "registry.k8s.io/pause:3.10.1"}) {
		t.Errorf("missing %q", got)
	}
}
