package config

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/artifacts"
)

// TestGoldenWithRealKubeadm runs `kubeadm config validate` of the built
// kubeadm v1.34.4 (from the artifact cache; built there if missing) on every
// v1.34.4 golden file. Files for other versions need their own kubeadm:
// kubeadm refuses versions outside its skew window.
func TestGoldenWithRealKubeadm(t *testing.T) {
	if os.Getenv("LABCTL_E2E") != "1" {
		t.Skip("set LABCTL_E2E=1 to validate with a real kubeadm")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	m, err := artifacts.Build(ctx, artifacts.Options{KubernetesVersion: "1.34.4", CacheDir: os.Getenv("LABCTL_ARTIFACTS_DIR")})
	if err != nil {
		t.Fatal(err)
	}
	// Every 1.34.4 case the render test writes, and nothing else on disk.
	var want []string
	for name := range goldenCases() {
		if strings.Contains(name, "-1.34.4-") {
			want = append(want, filepath.Join("testdata", name+".golden"))
		}
	}
	sort.Strings(want)
	files, _ := filepath.Glob("testdata/*-1.34.4-*.golden")
	if len(files) == 0 || strings.Join(files, " ") != strings.Join(want, " ") {
		t.Fatalf("golden files for 1.34.4 on disk %v, render cases %v", files, want)
	}
	for _, f := range files {
		out, err := exec.CommandContext(ctx, m.Path("kubeadm"), "config", "validate", "--config", f).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "ok") {
			t.Errorf("kubeadm config validate --config %s: %v\n%s", f, err, out)
		}
	}
	// And kubeadm must refuse what labctl refuses to send.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	golden, err := os.ReadFile("testdata/join-1.34.4-vm.golden")
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(golden), testToken, strings.ToUpper(testToken), 1)
	if err := os.WriteFile(bad, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, m.Path("kubeadm"), "config", "validate", "--config", bad).CombinedOutput(); err == nil {
		t.Errorf("kubeadm accepted a malformed token:\n%s", out)
	}
}
