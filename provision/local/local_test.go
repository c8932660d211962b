package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRecipeHashFollowsTheRecipe(t *testing.T) {
	a, b := DefaultRecipe(), DefaultRecipe()
	if a.Hash() != b.Hash() || len(a.Hash()) != 12 || !strings.HasPrefix(a.Tag(), ImageRepo+":") {
		t.Fatalf("unstable or malformed: %s %s", a.Tag(), b.Tag())
	}
	b.Packages = append(b.Packages, "vim")
	if a.Hash() == b.Hash() {
		t.Fatal("a new package must change the image tag")
	}
	c := DefaultRecipe()
	c.Setup += "\ntrue\n"
	if a.Hash() == c.Hash() {
		t.Fatal("a changed setup script must change the image tag")
	}
}

func TestNames(t *testing.T) {
	if got := ContainerName("k8s-101", 3, "node2"); got != "labctl-k8s-101-03-node2" {
		t.Fatal(got)
	}
	if n := clusterOfVolume("k8s-101", "labctl-k8s-101-12-node1-containerd"); n != 12 {
		t.Fatalf("cluster of volume: %d", n)
	}
	if keyOnly("ssh-ed25519 AAAAC3Nz root@node1\n") != "ssh-ed25519 AAAAC3Nz" {
		t.Fatal("keyOnly must drop the comment")
	}
}

func TestEnsureKeyCreatesOnceWithPrivateMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ssh", "id_ed25519")
	pub1, err := EnsureKey(path)
	if err != nil {
		t.Fatal(err)
	}
	pub2, err := EnsureKey(path)
	if err != nil || pub1 != pub2 || !strings.HasPrefix(pub1, "ssh-ed25519 ") {
		t.Fatalf("key not stable: %q %q %v", pub1, pub2, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v", fi.Mode().Perm())
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Fatalf("key dir mode %v", di.Mode().Perm())
	}
}

func TestMountsUnderIgnoresOthers(t *testing.T) {
	if m := mountsUnder("/nonexistent-labctl-dir"); len(m) != 0 {
		t.Fatalf("mounts: %v", m)
	}
}
