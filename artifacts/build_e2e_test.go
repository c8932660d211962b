package artifacts

import (
	"context"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestBuildE2E builds the default version for real (10-20 minutes cold on
// two cores) into the real cache, then checks the result with the built
// binaries themselves. LABCTL_ARTIFACTS_DIR overrides the cache directory.
func TestBuildE2E(t *testing.T) {
	if os.Getenv("LABCTL_E2E") != "1" {
		t.Skip("set LABCTL_E2E=1 to build Kubernetes for real")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	opts := Options{KubernetesVersion: "1.34.4", CacheDir: os.Getenv("LABCTL_ARTIFACTS_DIR"), Log: testLog{t}}

	start := time.Now()
	m, err := Build(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first Build: %s (recorded build time %.0fs)", time.Since(start).Round(time.Millisecond), m.BuildSeconds)

	out := run(t, m.Path("kubeadm"), "version", "-o", "short")
	if out != "v1.34.4" {
		t.Errorf("kubeadm version -o short = %q, want v1.34.4", out)
	}
	if out := run(t, m.Path("kubelet"), "--version"); out != "Kubernetes v1.34.4" {
		t.Errorf("kubelet --version = %q", out)
	}
	if out := run(t, m.Path("kubectl"), "version", "--client", "-o", "yaml"); !strings.Contains(out, "gitVersion: v1.34.4") {
		t.Errorf("kubectl version --client: %s", out)
	}

	want := strings.Fields(run(t, m.Path("kubeadm"), "config", "images", "list", "--kubernetes-version", "v1.34.4"))
	if !slices.Equal(want, m.Images) {
		t.Errorf("manifest images %v, kubeadm lists %v", m.Images, want)
	}
	got := tarballTags(t, m.Path("images.tar"))
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("tarball tags %v, kubeadm lists %v", got, want)
	}
	if err := m.Verify(); err != nil {
		t.Error(err)
	}
	if m.EtcdTools != m.Recipe.EtcdModuleVersion() || m.Base == "" || m.Base == m.RecipeHash {
		t.Errorf("manifest: etcd tools %q, base %q, entry %q", m.EtcdTools, m.Base, m.RecipeHash)
	}
	imageHasFiles(t, m.Path("images.tar"), "registry.k8s.io/etcd:"+m.Recipe.Etcd, "usr/local/bin/etcd", "usr/local/bin/etcdctl", "usr/local/bin/etcdutl")
	st, _ := os.Stat(m.Path("images.tar"))
	t.Logf("images.tar: %d MB, tags %v", st.Size()>>20, got)

	start = time.Now()
	m2, err := Build(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	hit := time.Since(start)
	t.Logf("second Build (cache hit): %s", hit.Round(time.Millisecond))
	if m2.BuiltAt != m.BuiltAt || m2.Dir != m.Dir {
		t.Errorf("second Build rebuilt: %v %s vs %v %s", m2.BuiltAt, m2.Dir, m.BuiltAt, m.Dir)
	}
}

// tarballTags lists the tags of a docker-archive and checks that every
// image in it is complete (digests verified) and built for amd64.
func tarballTags(t *testing.T, path string) []string {
	t.Helper()
	tm, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, d := range tm {
		for _, s := range d.RepoTags {
			tag, err := name.NewTag(s)
			if err != nil {
				t.Fatal(err)
			}
			tags = append(tags, tag.Name())
			img, err := tarball.ImageFromPath(path, &tag)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate.Image(img); err != nil {
				t.Errorf("%s: %v", s, err)
			}
			cf, err := img.ConfigFile()
			if err != nil || cf.Architecture != "amd64" || cf.OS != "linux" || len(cf.Config.Entrypoint) == 0 || cf.RootFS.Type != "layers" {
				t.Errorf("%s: config %+v, %v", s, cf, err)
			}
		}
	}
	slices.Sort(tags)
	return tags
}

func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", bin, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestResolveRecipeVersions reads kubeadm's pinned image versions from the
// real module source of several releases (downloads through the proxy).
func TestResolveRecipeVersions(t *testing.T) {
	if os.Getenv("LABCTL_E2E") != "1" {
		t.Skip("set LABCTL_E2E=1 to download k8s.io/kubernetes releases")
	}
	for v, want := range map[string][3]string{
		"1.30.14": {"3.5.15-0", "v1.11.3", "3.9"},
		"1.34.4":  {"3.6.5-0", "v1.12.1", "3.10.1"},
	} {
		r, err := ResolveRecipe(context.Background(), Options{KubernetesVersion: v})
		if err != nil {
			t.Fatal(err)
		}
		if got := [3]string{r.Etcd, r.CoreDNS, r.Pause}; got != want {
			t.Errorf("%s: etcd, coredns, pause = %v, want %v", v, got, want)
		}
	}
	r, err := ResolveRecipe(context.Background(), Options{KubernetesVersion: "1.37.2"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("1.37.2: etcd %s, coredns %s, pause %s", r.Etcd, r.CoreDNS, r.Pause)
}
