package kind

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
)

// ImageRepo is where labctl's kind node images are tagged; the tag is the
// recipe hash, so a changed recipe builds a new image and an unchanged one
// is reused.
const ImageRepo = "localhost/labctl-kind-node"

// imageRecipeVersion changes when the build steps change in a way the
// recipe's fields do not show.
const imageRecipeVersion = "1"

// ImageRecipe is what a node image is built from.
type ImageRecipe struct {
	Base      string // the local provider's node image (systemd, Debian)
	Artifacts string // the artifact cache entry: bin/kube*, images.tar
	// ArtifactsHash identifies the artifact entry (its recipe hash).
	ArtifactsHash string
	Kubernetes    string // "v1.34.4"
	Pause         string // the sandbox image, e.g. registry.k8s.io/pause:3.10.1
	PodSubnet     string
}

// files are the image's own files, by path in the image.
func (r ImageRecipe) files() (map[string]string, error) {
	fill := func(s string) (string, error) {
		var b bytes.Buffer
		err := template.Must(template.New("").Parse(s)).Execute(&b, r)
		return b.String(), err
	}
	cd, err := fill(containerdConfig)
	if err != nil {
		return nil, err
	}
	cni, err := fill(cniConfig)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"usr/local/bin/entrypoint":                             entrypoint,
		"kind/bin/kubelet-cgroups.sh":                          kubeletCgroups,
		"etc/containerd/config.toml":                           cd,
		"etc/cni/net.d/10-labctl.conflist":                     cni,
		"etc/systemd/system/kubelet.service":                   kubeletUnit,
		"etc/systemd/system/kubelet.service.d/10-kubeadm.conf": kubeletDropin,
		"etc/systemd/system/kubelet.slice":                     kubeletSlice,
		"etc/systemd/system/labctl-images.service":             imagesUnit,
		"etc/crictl.yaml":                                      crictlConfig,
		"etc/sysctl.d/10-labctl-kind.conf":                     sysctlConfig,
		"kind/version":                                         r.Kubernetes + "\n",
		"kind/labctl":                                          "made by labctl: its clusters are labctl's to delete\n",
	}, nil
}

func (r ImageRecipe) containerfile() (string, error) {
	var b bytes.Buffer
	err := template.Must(template.New("").Parse(containerfile)).Execute(&b, struct {
		Base, Packages string
	}{r.Base, strings.Join(nodePackages, " ")})
	return b.String(), err
}

// Hash identifies the recipe: everything that goes into the image.
func (r ImageRecipe) Hash() (string, error) {
	files, err := r.files()
	if err != nil {
		return "", err
	}
	cf, err := r.containerfile()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "v=%s\nbase=%s\nartifacts=%s\n%s", imageRecipeVersion, r.Base, r.ArtifactsHash, cf)
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		fmt.Fprintf(h, "\n--- %s\n%s", p, files[p])
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// Tag is the image reference for the recipe.
func (r ImageRecipe) Tag() (string, error) {
	h, err := r.Hash()
	return ImageRepo + ":" + h, err
}

// EnsureImage builds the recipe's image unless the runtime has it.
func EnsureImage(ctx context.Context, rt *Runtime, r ImageRecipe, log io.Writer) (string, error) {
	tag, err := r.Tag()
	if err != nil {
		return "", err
	}
	if rt.ImageExists(ctx, tag) {
		return tag, nil
	}
	fmt.Fprintf(log, "building kind node image %s (Kubernetes %s, once per recipe)\n", tag, r.Kubernetes)
	work, err := os.MkdirTemp("", "labctl-kind-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	files, err := r.files()
	if err != nil {
		return "", err
	}
	for p, body := range files {
		if err := writeFile(filepath.Join(work, "root", p), body); err != nil {
			return "", err
		}
	}
	for _, b := range []string{"kubeadm", "kubelet", "kubectl"} {
		if err := linkOrCopy(filepath.Join(r.Artifacts, "bin", b), filepath.Join(work, "bin", b)); err != nil {
			return "", fmt.Errorf("kind node image: %w", err)
		}
	}
	if err := linkOrCopy(filepath.Join(r.Artifacts, "images.tar"), filepath.Join(work, "root", "kind", "images", "kubernetes.tar")); err != nil {
		return "", fmt.Errorf("kind node image: %w", err)
	}
	cf, err := r.containerfile()
	if err != nil {
		return "", err
	}
	if err := writeFile(filepath.Join(work, "Containerfile"), cf); err != nil {
		return "", err
	}
	cmd := rt.Command(ctx, "build", "--runtime", "runc", "--network", "host", "-t", tag, "-f", filepath.Join(work, "Containerfile"), work)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("kind node image: %s build: %w: %s", rt.Name, err, tail(out))
	}
	return tag, nil
}

func writeFile(path, body string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(body), 0o644)
}

// linkOrCopy puts src at dst: a hard link when both are on one file
// system (the images are large), a copy otherwise.
func linkOrCopy(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func tail(out []byte) string {
	s := strings.TrimSpace(string(out))
	if len(s) > 1200 {
		s = "..." + s[len(s)-1200:]
	}
	return s
}
