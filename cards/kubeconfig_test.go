package cards

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A kind lab's cards carry a kubeconfig each, written next to them.
func TestUseKubeconfigs(t *testing.T) {
	src := t.TempDir()
	path := func(c int) string { return filepath.Join(src, fmt.Sprintf("k%d", c)) }
	for c := 1; c <= 2; c++ {
		kc := fmt.Sprintf("apiVersion: v1\nclusters:\n- cluster:\n    server: https://127.0.0.1:4000%d\n  name: c%d\n", c, c)
		if err := os.WriteFile(path(c), []byte(kc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Build(testLab(t, labYAML("")), testState(2, 1), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.UseKubeconfigs(path); err != nil {
		t.Fatal(err)
	}
	c := d.Cards[1]
	if c.Kubeconfig != "cluster-02.kubeconfig" || c.Server != "https://127.0.0.1:40002" || c.SSH != "kubectl --kubeconfig cluster-02.kubeconfig get nodes" {
		t.Fatalf("card 2: %+v", c)
	}
	out := t.TempDir()
	paths, err := d.Write(context.Background(), []string{"text"}, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 3 || filepath.Base(paths[2]) != "cluster-02.kubeconfig" {
		t.Fatalf("paths: %v", paths)
	}
	b, err := os.ReadFile(filepath.Join(out, "cluster-01.kubeconfig"))
	info, _ := os.Stat(filepath.Join(out, "cluster-01.kubeconfig"))
	if err != nil || !strings.Contains(string(b), "https://127.0.0.1:40001") || info.Mode().Perm() != 0o600 {
		t.Fatalf("kubeconfig next to the cards: %q %v", b, err)
	}
	txt, _ := os.ReadFile(filepath.Join(out, "cards.txt"))
	if !strings.Contains(string(txt), "kubectl --kubeconfig cluster-01.kubeconfig get nodes") {
		t.Errorf("cards.txt:\n%s", txt)
	}
	// A cluster without its kubeconfig yet is not ready for cards.
	os.Remove(path(2))
	if err := d.UseKubeconfigs(path); !errors.Is(err, ErrNotReady) {
		t.Fatalf("missing kubeconfig: %v", err)
	}
}
