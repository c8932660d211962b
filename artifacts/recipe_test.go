package artifacts

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"
)

// A go.mod shaped like k8s.io/kubernetes's (written for this test).
const fakeK8sGoMod = `module k8s.io/kubernetes

go 1.24.0

require (
	k8s.io/api v0.0.0
	k8s.io/kubelet v0.0.0
	github.com/spf13/cobra v1.9.1
)

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/kubelet => ./staging/src/k8s.io/kubelet
	github.com/example/forked => github.com/example/forked v1.2.3
)

replace k8s.io/cri-api => ./staging/src/k8s.io/cri-api
`

func TestStagingReplaces(t *testing.T) {
	got, err := StagingReplaces([]byte(fakeK8sGoMod), "v1.34.4")
	if err != nil {
		t.Fatal(err)
	}
	want := []Replace{{"k8s.io/api", "v0.34.4"}, {"k8s.io/kubelet", "v0.34.4"}, {"k8s.io/cri-api", "v0.34.4"}}
	if !slices.Equal(got, want) {
		t.Errorf("StagingReplaces = %v, want %v", got, want)
	}
	if _, err := StagingReplaces([]byte("module example.com/x\n"), "v1.34.4"); err == nil {
		t.Error("accepted a go.mod that is not k8s.io/kubernetes's")
	}
	if _, err := StagingReplaces([]byte("module k8s.io/kubernetes\n"), "v1.34.4"); err == nil {
		t.Error("accepted a k8s.io/kubernetes go.mod without staging replaces")
	}
}

func TestScratchModuleParses(t *testing.T) {
	dir := t.TempDir()
	reps := []Replace{{"k8s.io/api", "v0.34.4"}}
	if err := scratchModule(dir, "go1.26.8", map[string]string{"k8s.io/kubernetes": "v1.34.4"}, reps,
		map[string][]byte{"pause/main.go": pauseSource}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if f.Go.Version != "1.26.8" || len(f.Require) != 1 || f.Require[0].Mod.Version != "v1.34.4" ||
		len(f.Replace) != 1 || f.Replace[0].New.Path != "k8s.io/api" || f.Replace[0].New.Version != "v0.34.4" {
		t.Errorf("scratch go.mod:\n%s", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "pause/main.go")); err != nil {
		t.Error(err)
	}
}

// Constants written like kubeadm's, for the parser.
const fakeConstants = `package constants

const (
	DefaultEtcdVersion = "3.6.5-0"
	CoreDNSVersion = "v1.12.1"
	PauseVersion = "3.10.1"
	Other = 3
)

var (
	SupportedEtcdVersion = map[uint8]string{
		31: "3.5.24-0",
		32: "3.5.24-0",
		34: "3.6.5-0",
	}
)
`

func TestParseKubeadmConstants(t *testing.T) {
	kv, err := parseKubeadmConstants([]byte(fakeConstants))
	if err != nil {
		t.Fatal(err)
	}
	if kv.CoreDNS != "v1.12.1" || kv.Pause != "3.10.1" || kv.DefaultEtcd != "3.6.5-0" || len(kv.SupportedEtcd) != 3 {
		t.Errorf("parsed %+v", kv)
	}
	// kubeadm's rule: exact minor, else the nearest end, else the default.
	for minor, want := range map[int]string{34: "3.6.5-0", 31: "3.5.24-0", 30: "3.5.24-0", 37: "3.6.5-0", 33: "3.6.5-0"} {
		if got := kv.etcdFor(minor); got != want {
			t.Errorf("etcdFor(%d) = %s, want %s", minor, got, want)
		}
	}
	broken := strings.Replace(fakeConstants, "PauseVersion", "PauseVersionX", 1)
	if _, err := parseKubeadmConstants([]byte(broken)); err == nil || !strings.Contains(err.Error(), "PauseVersion") {
		t.Errorf("missing PauseVersion: err = %v", err)
	}
}

func testRecipe() Recipe {
	return Recipe{RecipeVersion: RecipeVersion, Kubernetes: "v1.34.4", Arch: "amd64", GoVersion: "go1.26.8",
		Etcd: "3.6.5-0", CoreDNS: "v1.12.1", Pause: "3.10.1",
		DebianSuite: debianSuite, DebianVariant: debianVariant, DebianPackages: debianPackages}
}

func TestRecipeHash(t *testing.T) {
	base := testRecipe()
	h := base.Hash()
	if len(h) != 20 || h != testRecipe().Hash() {
		t.Fatalf("hash %q is not stable", h)
	}
	for name, mut := range map[string]func(*Recipe){
		"kubernetes": func(r *Recipe) { r.Kubernetes = "v1.34.5" },
		"arch":       func(r *Recipe) { r.Arch = "arm64" },
		"go":         func(r *Recipe) { r.GoVersion = "go1.26.9" },
		"recipe":     func(r *Recipe) { r.RecipeVersion++ },
		"etcd":       func(r *Recipe) { r.Etcd = "3.6.6-0" },
		"coredns":    func(r *Recipe) { r.CoreDNS = "v1.12.2" },
		"pause":      func(r *Recipe) { r.Pause = "3.10.2" },
		"debian":     func(r *Recipe) { r.DebianPackages = []string{"iptables"} },
	} {
		r := testRecipe()
		mut(&r)
		if r.Hash() == h {
			t.Errorf("changing %s keeps hash %s", name, h)
		}
	}
	r := testRecipe()
	r.Kubernetes = "v1.35.0"
	if r.debianHash() != base.debianHash() {
		t.Error("the Debian base must not depend on the Kubernetes version")
	}
}

func TestImageTagsAndVersions(t *testing.T) {
	r := testRecipe()
	want := []string{
		"registry.k8s.io/kube-apiserver:v1.34.4", "registry.k8s.io/kube-controller-manager:v1.34.4",
		"registry.k8s.io/kube-scheduler:v1.34.4", "registry.k8s.io/kube-proxy:v1.34.4",
		"registry.k8s.io/coredns/coredns:v1.12.1", "registry.k8s.io/pause:3.10.1", "registry.k8s.io/etcd:3.6.5-0",
	}
	if got := r.ImageTags(); !slices.Equal(got, want) {
		t.Errorf("ImageTags = %v", got)
	}
	if got := r.EtcdModuleVersion(); got != "v3.6.5" {
		t.Errorf("EtcdModuleVersion = %s", got)
	}
	for in, want := range map[string]string{"1.34.4": "v1.34.4", "v1.30.14": "v1.30.14"} {
		if got, _, err := NormalizeVersion(in); err != nil || got != want {
			t.Errorf("NormalizeVersion(%s) = %s, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "1.34", "2.0.0", "1.34.4-rc.1", "stable"} {
		if _, _, err := NormalizeVersion(bad); err == nil {
			t.Errorf("NormalizeVersion(%q) accepted", bad)
		}
	}
}

func TestLDFlagsStampVersion(t *testing.T) {
	f := k8sLDFlags("v1.34.4", 34, time.Date(2026, 2, 10, 12, 53, 36, 0, time.UTC))
	for _, want := range []string{
		"-X k8s.io/component-base/version.gitVersion=v1.34.4", "-X k8s.io/component-base/version.gitMajor=1",
		"-X k8s.io/component-base/version.gitMinor=34", "-X k8s.io/client-go/pkg/version.gitVersion=v1.34.4",
		"-X k8s.io/component-base/version.buildDate=2026-02-10T12:53:36Z",
	} {
		if !strings.Contains(f, want) {
			t.Errorf("ldflags lack %q: %s", want, f)
		}
	}
}

// TestGoModReplacesMatchKubernetes keeps labctl's own go.mod (which imports
// kubeadm's API types) in step with the k8s.io/kubernetes it requires, when
// that module is in the module cache.
func TestGoModReplacesMatchKubernetes(t *testing.T) {
	data, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	var version string
	for _, r := range f.Require {
		if r.Mod.Path == "k8s.io/kubernetes" {
			version = r.Mod.Version
		}
	}
	if version == "" {
		t.Fatal("go.mod does not require k8s.io/kubernetes: the kubeadm API types need it")
	}
	mc := os.Getenv("GOMODCACHE")
	if mc == "" {
		mc = filepath.Join(os.Getenv("HOME"), "go", "pkg", "mod")
	}
	k8sMod, err := os.ReadFile(filepath.Join(mc, "cache", "download", "k8s.io", "kubernetes", "@v", version+".mod"))
	if err != nil {
		t.Skipf("k8s.io/kubernetes %s not in the module cache: %v", version, err)
	}
	want, err := StagingReplaces(k8sMod, version)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, r := range f.Replace {
		have[r.Old.Path] = r.New.Path + "@" + r.New.Version
	}
	for _, r := range want {
		if have[r.Path] != r.Path+"@"+r.Version {
			t.Errorf("go.mod: want replace %s => %s %s, have %q", r.Path, r.Path, r.Version, have[r.Path])
		}
	}
}
