package artifacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// The etcd image carries etcdctl and etcdutl next to etcd, in
// /usr/local/bin as upstream's image does, built from the etcd release of
// the server (go.etcd.io/etcd/etcdctl/v3 and etcdutl/v3 at the version of
// go.etcd.io/etcd/server/v3): `kubectl -n kube-system exec etcd-node1 --
// etcdctl ...` works offline as it does online.
//
// The cache is in three entries, so that the tools never cost a rebuild
// of Kubernetes:
//
//   - the base entry, ROOT/<Recipe.Hash()>: kubeadm, kubelet, kubectl and
//     the images, the etcd image with etcd alone (a quarter of an hour
//     cold on two cores; its recipe does not mention the tools);
//   - the tools, ROOT/etcd-tools/<etcdToolsRecipe.hash()>/: etcdctl and
//     etcdutl (about two minutes on two cores);
//   - the entry nodes get, ROOT/<finalHash(base, tools)>: the base's
//     binaries (hard links) and its images.tar rewritten with one more
//     layer on the etcd image (seconds).
//
// Changing how the tools are made (etcdToolsRecipeVersion) rebuilds the
// tools and the last entry, never the base.
const etcdToolsRecipeVersion = 1

// etcdTools are the commands, and their packages (the main packages of
// their modules).
var etcdTools = map[string]string{
	"etcdctl": "go.etcd.io/etcd/etcdctl/v3",
	"etcdutl": "go.etcd.io/etcd/etcdutl/v3",
}

// etcdToolsRecipe is everything that decides the tools' bytes.
type etcdToolsRecipe struct {
	Version   int    `json:"version"`
	Etcd      string `json:"etcd"` // module version, "v3.6.5"
	Arch      string `json:"arch"`
	GoVersion string `json:"goVersion"`
}

func (r Recipe) etcdTools() etcdToolsRecipe {
	return etcdToolsRecipe{Version: etcdToolsRecipeVersion, Etcd: r.EtcdModuleVersion(), Arch: r.Arch, GoVersion: r.GoVersion}
}

func (t etcdToolsRecipe) hash() string {
	b, _ := json.Marshal(t) // strings and an int
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:20]
}

// finalHash names the entry made of a base entry and the etcd tools.
func finalHash(base, tools string) string {
	sum := sha256.Sum256([]byte("base " + base + "\netcd-tools " + tools + "\n"))
	return hex.EncodeToString(sum[:])[:20]
}

// errNoEtcdTools: the tools could not be had; the image goes without them.
var errNoEtcdTools = errors.New("no etcdctl and etcdutl")

// buildEtcdTools returns the directory holding etcdctl and etcdutl for t,
// building them the first time. A release whose tools the module proxy
// does not serve (some etcd 3.5 patch releases) is errNoEtcdTools.
func (b *builder) buildEtcdTools(ctx context.Context, t etcdToolsRecipe) (string, error) {
	parent := filepath.Join(b.root, "etcd-tools")
	dir := filepath.Join(parent, t.hash())
	if etcdToolsComplete(dir) {
		return dir, nil
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(ctx, dir+".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if etcdToolsComplete(dir) {
		return dir, nil
	}
	for _, cmd := range sortedKeys(etcdTools) {
		if _, err := b.gt.moduleDir(ctx, b.env, etcdTools[cmd], t.Etcd); err != nil {
			return "", fmt.Errorf("%w: %s %s is not available: %v", errNoEtcdTools, etcdTools[cmd], t.Etcd, err)
		}
	}
	tmp, err := os.MkdirTemp(parent, ".tmp-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "src")
	requires := map[string]string{}
	for _, m := range etcdTools {
		requires[m] = t.Etcd
	}
	if err := scratchModule(src, t.GoVersion, requires, nil, map[string][]byte{}); err != nil {
		return "", err
	}
	start := time.Now()
	b.logf("etcd tools: go build etcdctl and etcdutl %s ...", t.Etcd)
	bin := filepath.Join(tmp, "bin")
	args := []string{"build", "-trimpath", "-ldflags", "-s -w", "-o", bin + "/"}
	for _, cmd := range sortedKeys(etcdTools) {
		args = append(args, etcdTools[cmd])
	}
	if _, err := b.gt.run(ctx, src, t.Arch, args...); err != nil {
		return "", err
	}
	if !etcdToolsComplete(bin) {
		return "", fmt.Errorf("go build of the etcd tools left no etcdctl or etcdutl in %s", bin)
	}
	if err := os.Rename(bin, dir); err != nil {
		return "", err
	}
	b.logf("etcd tools: built in %s: %s", time.Since(start).Round(time.Second), dir)
	return dir, nil
}

func etcdToolsComplete(dir string) bool {
	for cmd := range etcdTools {
		st, err := os.Stat(filepath.Join(dir, cmd))
		if err != nil || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// withEtcdTools makes the entry ROOT/hash from the base entry and the
// tools: the base's binaries, and its images with the tools added to the
// etcd image.
func (b *builder) withEtcdTools(ctx context.Context, base *Manifest, tools, hash string) (*Manifest, error) {
	final := filepath.Join(b.root, hash)
	unlock, err := lockFile(ctx, final+".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if m, err := readManifest(final); err == nil && m.RecipeHash == hash {
		return m, nil
	}
	start := time.Now()
	tmp, err := os.MkdirTemp(b.root, ".tmp-"+hash+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "out")
	if err := os.MkdirAll(filepath.Join(out, "bin"), 0o755); err != nil {
		return nil, err
	}
	m := *base
	m.RecipeHash, m.Base, m.EtcdTools = hash, base.RecipeHash, b.recipe.EtcdModuleVersion()
	m.Artifacts = append([]Artifact(nil), base.Artifacts...)
	created, err := moduleTime(b.env, "k8s.io/kubernetes", b.recipe.Kubernetes)
	if err != nil {
		return nil, err
	}
	etcdTag := b.recipe.ImageTags()[6]
	files := map[string]string{}
	for cmd := range etcdTools {
		files["/usr/local/bin/"+cmd] = filepath.Join(tools, cmd)
	}
	for i := range m.Artifacts {
		a := &m.Artifacts[i]
		src, dst := filepath.Join(base.Dir, a.Path), filepath.Join(out, a.Path)
		if a.Kind != "images" {
			if err := linkOrCopy(src, dst); err != nil {
				return nil, err
			}
			continue
		}
		if err := addToImage(src, dst, tmp, etcdTag, files, created); err != nil {
			return nil, fmt.Errorf("etcd image with etcdctl and etcdutl: %w", err)
		}
		if a.SHA256, a.Size, err = fileSHA256(dst); err != nil {
			return nil, err
		}
	}
	m.BuiltAt = time.Now().UTC()
	m.BuildSeconds = time.Since(start).Seconds()
	if err := publish(out, final, manifestFile, m); err != nil {
		return nil, err
	}
	m.Dir = final
	b.logf("etcd image: etcdctl and etcdutl %s added in %s: %s", m.EtcdTools, time.Since(start).Round(time.Second), final)
	return &m, nil
}

// linkOrCopy hard-links src to dst (the same file system: the cache), or
// copies it.
func linkOrCopy(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, st.Mode().Perm())
}
