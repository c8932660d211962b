package local

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReleaseAddress(t *testing.T) {
	cniNetworks = t.TempDir()
	dir := filepath.Join(cniNetworks, "labctl-i11")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr, err := NodeAddress("10.89.3.0/24", 2, "node1")
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "10.89.3.2")
	for _, f := range []string{filepath.Join(dir, addr), other} {
		if err := os.WriteFile(f, []byte("0123abcd"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := &Provider{}
	if err := p.ReleaseAddress("i11", "10.89.3.0/24", 2, "node1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, addr)); !os.IsNotExist(err) {
		t.Errorf("%s still reserved", addr)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another node's reservation went: %v", err)
	}
	if err := p.ReleaseAddress("i11", "10.89.3.0/24", 2, "node1"); err != nil {
		t.Errorf("releasing twice: %v", err)
	}
}
