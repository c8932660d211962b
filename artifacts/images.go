package artifacts

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
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
	skeleton, err := layerFromBytes(skeletonTar(created))
	if err != nil {
		return err
	}
	var debian v1.Layer
	refs := map[name.Reference]v1.Image{}
	for i, s := range specs {
		layers := []v1.Layer{skeleton}
		if s.debianBase {
			if debian == nil {
				if debian, err = tarball.LayerFromFile(debianTar, tarball.WithCompressedCaching); err != nil {
					return fmt.Errorf("debian layer: %w", err)
				}
			}
			layers = []v1.Layer{debian}
		}
		lp := filepath.Join(work, fmt.Sprintf("layer-%d.tar", i))
		if err := writeFilesTar(lp, s.files, created); err != nil {
			return fmt.Errorf("image %s: %w", s.tag, err)
		}
		bl, err := tarball.LayerFromFile(lp, tarball.WithCompressedCaching)
		if err != nil {
			return fmt.Errorf("image %s: %w", s.tag, err)
		}
		img, err := buildImage(append(layers, bl), arch, s.entrypoint, created, s.tag)
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

func buildImage(layers []v1.Layer, arch string, entrypoint []string, created time.Time, tag string) (v1.Image, error) {
	cfg := &v1.ConfigFile{
		Architecture: arch,
		OS:           "linux",
		Created:      v1.Time{Time: created},
		Config:       v1.Config{Env: []string{imagePATH}, Entrypoint: entrypoint},
		RootFS:       v1.RootFS{Type: "layers"},
	}
	img, err := mutate.ConfigFile(empty.Image, cfg)
	if err != nil {
		return nil, err
	}
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		adds[i] = mutate.Addendum{Layer: l, History: v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: "labctl artifacts " + tag,
		}}
	}
	return mutate.Append(img, adds...)
}

func layerFromBytes(b []byte) (v1.Layer, error) {
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithCompressedCaching)
}

// skeletonTar is the minimal file system the static binaries expect: root
// and nobody users, name service order, a sticky /tmp.
func skeletonTar(created time.Time) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(p string, mode int64) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: mode, ModTime: created})
	}
	file := func(p, content string) {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: 0o644, Size: int64(len(content)), ModTime: created})
		_, _ = tw.Write([]byte(content))
	}
	dir("etc", 0o755)
	file("etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")
	file("etc/group", "root:x:0:\nnogroup:x:65534:\n")
	file("etc/nsswitch.conf", "hosts: files dns\n")
	dir("root", 0o700)
	dir("tmp", 0o1777)
	_ = tw.Close()
	return buf.Bytes()
}

// writeFilesTar writes the given host files into a layer tar at their image
// paths, with their parent directories, executable, owned by root.
func writeFilesTar(out string, files map[string]string, created time.Time) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	seen := map[string]bool{}
	for _, imgPath := range sortedKeys(files) {
		rel := strings.TrimPrefix(imgPath, "/")
		var parents []string
		for d := path.Dir(rel); d != "." && !seen[d]; d = path.Dir(d) {
			parents = append([]string{d}, parents...)
			seen[d] = true
		}
		for _, d := range parents {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: created}); err != nil {
				return err
			}
		}
		src, err := os.Open(files[imgPath])
		if err != nil {
			return err
		}
		st, err := src.Stat()
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: 0o755, Size: st.Size(), ModTime: created})
		}
		if err == nil {
			_, err = io.Copy(tw, src)
		}
		src.Close()
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// addToImage copies the docker-archive src to dst with one more layer on
// the image tagged tag: files (image path -> host file). The other images
// and the layers they share are copied as they are.
func addToImage(src, dst, work, tag string, files map[string]string, created time.Time) error {
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
				lp := filepath.Join(work, "added-layer.tar")
				if err := writeFilesTar(lp, files, created); err != nil {
					return err
				}
				l, err := tarball.LayerFromFile(lp, tarball.WithCompressedCaching)
				if err != nil {
					return err
				}
				if img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{
					Created: v1.Time{Time: created}, CreatedBy: "labctl artifacts " + tag + " tools"}}); err != nil {
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
