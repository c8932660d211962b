package artifacts

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/labctl/labctl/artifacts/goimage"
)

const imagePATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// imageSpec is one control-plane image: binaries (image path -> built file),
// an optional Debian root file system under them, and the entrypoint.
type imageSpec struct {
	tag        string
	files      map[string]string
	debianBase bool
	entrypoint []string
}

// imageSpecs lays the built binaries out the way kubeadm's manifests call
// them: the control plane and etcd by bare name on PATH, coredns and pause
// through their entrypoints.
func imageSpecs(r Recipe, bin string) []imageSpec {
	tags := r.ImageTags()
	k8s := func(tag, name string, debian bool) imageSpec {
		p := "/usr/local/bin/" + name
		return imageSpec{tag: tag, files: map[string]string{p: filepath.Join(bin, name)},
			debianBase: debian, entrypoint: []string{p}}
	}
	return []imageSpec{
		k8s(tags[0], "kube-apiserver", false),
		k8s(tags[1], "kube-controller-manager", false),
		k8s(tags[2], "kube-scheduler", false),
		k8s(tags[3], "kube-proxy", true),
		{tag: tags[4], files: map[string]string{"/coredns": filepath.Join(bin, "coredns")}, entrypoint: []string{"/coredns"}},
		{tag: tags[5], files: map[string]string{"/pause": filepath.Join(bin, "pause")}, entrypoint: []string{"/pause"}},
		k8s(tags[6], "etcd", false),
	}
}

// writeImages assembles every image and writes them into one docker-archive
// tarball (importable with `ctr -n k8s.io images import`).
func writeImages(specs []imageSpec, arch, debianTar, work, out string, created time.Time) error {
	f := goimage.Docker(created)
	skeleton, err := f.Layer(skeleton())
	if err != nil {
		return err
	}
	var debian v1.Layer
	refs := map[name.Reference]v1.Image{}
	for i, s := range specs {
		layers := []v1.Layer{skeleton}
		if s.debianBase {
			if debian == nil {
				if debian, err = f.TarLayer(debianTar); err != nil {
					return fmt.Errorf("debian layer: %w", err)
				}
			}
			layers = []v1.Layer{debian}
		}
		bl, err := f.LayerFile(filepath.Join(work, fmt.Sprintf("layer-%d.tar", i)), fileEntries(s.files))
		if err != nil {
			return fmt.Errorf("image %s: %w", s.tag, err)
		}
		adds := make([]mutate.Addendum, 0, len(layers)+1)
		for _, l := range append(layers, bl) {
			adds = append(adds, mutate.Addendum{Layer: l, History: f.History("labctl artifacts " + s.tag)})
		}
		img, err := f.Image(arch, v1.Config{Env: []string{imagePATH}, Entrypoint: s.entrypoint}, adds...)
		if err != nil {
			return fmt.Errorf("image %s: %w", s.tag, err)
		}
		ref, err := name.NewTag(s.tag, name.StrictValidation)
		if err != nil {
			return err
		}
		refs[ref] = img
	}
	if err := tarball.MultiRefWriteToFile(out, refs); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}

// skeleton is the minimal file system the static binaries expect: root
// and nobody users, name service order, a sticky /tmp.
func skeleton() []goimage.Entry {
	return []goimage.Entry{
		{Name: "etc/", Mode: 0o755},
		{Name: "etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")},
		{Name: "etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnogroup:x:65534:\n")},
		{Name: "etc/nsswitch.conf", Mode: 0o644, Data: []byte("hosts: files dns\n")},
		{Name: "root/", Mode: 0o700},
		{Name: "tmp/", Mode: 0o1777},
	}
}

// fileEntries are the given host files at their image paths (image path
// -> host file), sorted, each after its parent directories, executable,
// owned by root.
func fileEntries(files map[string]string) []goimage.Entry {
	var entries []goimage.Entry
	seen := map[string]bool{}
	for _, imgPath := range sortedKeys(files) {
		rel := strings.TrimPrefix(imgPath, "/")
		var parents []string
		for d := path.Dir(rel); d != "." && !seen[d]; d = path.Dir(d) {
			parents = append([]string{d}, parents...)
			seen[d] = true
		}
		for _, d := range parents {
			entries = append(entries, goimage.Entry{Name: d + "/", Mode: 0o755})
		}
		entries = append(entries, goimage.Entry{Name: rel, Mode: 0o755, File: files[imgPath]})
	}
	return entries
}

// addToImage copies the docker-archive src to dst with one more layer on
// the image tagged tag: files (image path -> host file). The other images
// and the layers they share are copied as they are.
func addToImage(src, dst, work, tag string, files map[string]string, created time.Time) error {
	f := goimage.Docker(created)
	opener := func() (io.ReadCloser, error) { return os.Open(src) }
	tm, err := tarball.LoadManifest(opener)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	refs := map[name.Reference]v1.Image{}
	found := false
	for _, d := range tm {
		for _, s := range d.RepoTags {
			t, err := name.NewTag(s, name.StrictValidation)
			if err != nil {
				return fmt.Errorf("%s: tag %q: %w", src, s, err)
			}
			img, err := tarball.Image(opener, &t)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", src, s, err)
			}
			if s == tag {
				found = true
				l, err := f.LayerFile(filepath.Join(work, "added-layer.tar"), fileEntries(files))
				if err != nil {
					return err
				}
				if img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: f.History("labctl artifacts " + tag + " tools")}); err != nil {
					return err
				}
			}
			refs[t] = img
		}
	}
	if !found {
		return fmt.Errorf("%s has no image %s", src, tag)
	}
	if err := tarball.MultiRefWriteToFile(dst, refs); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}
