package artifacts

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The Kubernetes images' bytes are pinned: their cache is keyed by recipe,
// so a change to how they are written would leave caches built before and
// after with different images for one key. Every image's digest (its
// manifest, hence its config and layers) and the archive's manifest.json
// are fixed for fixed inputs. A change here needs a RecipeVersion bump.
func TestImagesPinned(t *testing.T) {
	dir := t.TempDir()
	created := time.Date(2025, 11, 12, 13, 14, 15, 0, time.UTC)
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "coredns", "pause", "etcd", "etcdctl", "etcdutl"} {
		if err := os.WriteFile(filepath.Join(bin, n), []byte("#!binary "+n+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A Debian root file system in miniature, as debootstrap's tar would be.
	var deb bytes.Buffer
	tw := tar.NewWriter(&deb)
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755, ModTime: created},
		{Typeflag: tar.TypeDir, Name: "./usr/", Mode: 0o755, ModTime: created},
		{Typeflag: tar.TypeSymlink, Name: "./bin", Linkname: "usr/bin", Mode: 0o777, ModTime: created},
		{Typeflag: tar.TypeReg, Name: "./usr/iptables", Mode: 0o755, Size: 4, ModTime: created},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			_, _ = tw.Write([]byte("ipt\n"))
		}
	}
	_ = tw.Close()
	debTar := filepath.Join(dir, "debian.tar")
	if err := os.WriteFile(debTar, deb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r := testRecipe()
	out := filepath.Join(dir, "images.tar")
	if err := writeImages(imageSpecs(r, bin), r.Arch, debTar, dir, out, created); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"registry.k8s.io/kube-apiserver:v1.34.4":          "sha256:6e0e398f19b46069be02d9bd2e8c21e1945c4c586ff50bef4a38a07d36a4795d",
		"registry.k8s.io/kube-controller-manager:v1.34.4": "sha256:4a44c7e75b15c7ce78525e54c043cb18680131f7269f24a7c94b738258b8156c",
		"registry.k8s.io/kube-scheduler:v1.34.4":          "sha256:8f9bbc599f334355f4b15f557db1d9ba04252b31392aa9cbfcca10ad6252ff63",
		"registry.k8s.io/kube-proxy:v1.34.4":              "sha256:5e35fb66de412b64d1ac26232f80316e19766035dfe4bb04615fd0439a83d4ea",
		"registry.k8s.io/coredns/coredns:v1.12.1":         "sha256:4baeda502f7eb3dbfc8dcc4761812555ab44cd259d592291690f6a6ed40a0fd2",
		"registry.k8s.io/pause:3.10.1":                    "sha256:f71fce222fd03c9f022166999402d648f2e5afa382d103670179e74fd5922819",
		"registry.k8s.io/etcd:3.6.5-0":                    "sha256:b5e39e6453439fa1d768a8b354b13b0dee715596401d7c6671375b020f8ae5bb",
	}
	for tag, d := range want {
		if got := digest(t, imageFrom(t, out, tag)); got != d {
			t.Errorf("%s: digest %s, pinned %s", tag, got, d)
		}
	}
	if got, pinned := member(t, out, "manifest.json"), "057e95ea97b0206d027ed92176ac57bd4b37eb7c9934d2608430f77f52251062"; got != pinned {
		t.Errorf("manifest.json: sha256 %s, pinned %s", got, pinned)
	}
	tools := filepath.Join(dir, "tools.tar")
	files := map[string]string{"/usr/local/bin/etcdctl": filepath.Join(bin, "etcdctl"), "/usr/local/bin/etcdutl": filepath.Join(bin, "etcdutl")}
	if err := addToImage(out, tools, dir, "registry.k8s.io/etcd:3.6.5-0", files, created); err != nil {
		t.Fatal(err)
	}
	if got, pinned := digest(t, imageFrom(t, tools, "registry.k8s.io/etcd:3.6.5-0")), "sha256:0a10fe0b90de4a898288e837fcf84d04dff098aaaa2cef8253acdfcf1ba58194"; got != pinned {
		t.Errorf("etcd with its tools: digest %s, pinned %s", got, pinned)
	}
}

// member is the sha256 of the archive's member name.
func member(t *testing.T, archive, name string) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: no %s (%v)", archive, name, err)
		}
		if h.Name == name {
			s := sha256.New()
			if _, err := io.Copy(s, tr); err != nil {
				t.Fatal(err)
			}
			return hex.EncodeToString(s.Sum(nil))
		}
	}
}
