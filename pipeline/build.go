package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/labctl/labctl/artifacts"
	"github.com/labctl/labctl/artifacts/goimage"
	"github.com/labctl/labctl/coins/images"
	coinsphase "github.com/labctl/labctl/coins/phase"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/nodeprep"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// nodeprep builds the nodeprep phase, with the artifact cache when nodes
// take Kubernetes from it.
func (u *Up) nodeprep(ctx context.Context) (*nodeprep.Phase, error) {
	p := &nodeprep.Phase{Context: u.phaseContext(), PauseImage: "registry.k8s.io/pause:3.10"}
	p.SharedKernel = u.Lab.LocalNodes()
	if u.Lab.WebTermEnabled() {
		files, err := u.webterm(ctx)
		if err != nil {
			return nil, err
		}
		p.Uploads.WebTerm = files
	}
	if u.Lab.Kubernetes.Source != "cache" {
		p.Downloads = map[string][]nodeprep.Download{}
		for _, arch := range artifacts.ReleaseArches() {
			for _, t := range artifacts.Tools {
				p.Downloads[arch] = append(p.Downloads[arch], nodeprep.Download{Name: t.Name, URL: t.Release(arch), SHA256: t.Checksums[arch], Member: t.Member(arch)})
			}
		}
		return p, nil
	}
	fmt.Fprintf(u.Out, "==> artifact cache for Kubernetes %s (built once per version; the first build takes a while)\n", u.Lab.Kubernetes.Version)
	m, err := artifacts.Build(ctx, artifacts.Options{KubernetesVersion: u.Lab.Kubernetes.Version, CacheDir: u.Lab.Kubernetes.Artifacts, Log: remote.Indent(u.Out)})
	if err != nil {
		return nil, fmt.Errorf("artifact cache: %w", err)
	}
	for _, img := range m.Images {
		if strings.Contains(img, "/pause:") {
			p.PauseImage = img
		}
	}
	p.Uploads.KubernetesImages = m.Images
	for _, name := range []string{"kubeadm", "kubelet", "kubectl", "images.tar"} {
		path := m.Path(name)
		if path == "" {
			return nil, fmt.Errorf("artifact cache %s has no %s", m.Dir, name)
		}
		mode := uint32(0o755)
		if name == "images.tar" {
			mode = 0o644
		}
		var sum string
		for _, art := range m.Artifacts {
			if art.Name == name {
				sum = art.SHA256
			}
		}
		p.Uploads.Kubernetes = append(p.Uploads.Kubernetes, nodeprep.File{Source: path, SHA256: sum, Dest: "/var/lib/labctl/stage/" + name, Mode: mode})
	}
	toolsDir := ""
	if u.Lab.Kubernetes.Artifacts != "" {
		toolsDir = filepath.Join(u.Lab.Kubernetes.Artifacts, "tools")
	}
	tm, err := artifacts.BuildTools(ctx, artifacts.ToolsOptions{CacheDir: toolsDir, Log: remote.Indent(u.Out)})
	if err != nil {
		return nil, fmt.Errorf("tools cache: %w", err)
	}
	for _, a := range tm.Artifacts {
		p.Uploads.Tools = append(p.Uploads.Tools, nodeprep.File{Source: tm.Path(a.Name), SHA256: a.SHA256, Dest: "/var/lib/labctl/stage/" + a.Name, Mode: 0o755})
	}
	return p, nil
}

// coins builds the DockerCoins images (cached by their inputs) and the
// phase that preloads them on every node and, when enabled, deploys them.
func (u *Up) coins(ctx context.Context) (Phase, error) {
	mod, err := goimage.OwnModule(ctx, u.SourceDir, labctlModule)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoSource, err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return nil, err
	}
	res, err := images.Build(ctx, images.Options{Dir: filepath.Join(cache, "labctl", "dockercoins"), Keyed: true, ModuleDir: mod, Log: remote.Indent(u.Out)})
	if err != nil {
		return nil, fmt.Errorf("coins: %w", err)
	}
	var clusters []coinsphase.Cluster
	for _, c := range u.State.Clusters {
		if u.failed(c.Index) {
			continue
		}
		cl := coinsphase.Cluster{Index: c.Index,
			Kube: func(ctx context.Context) (*kube.Client, error) { return u.kube(ctx, c.Index) }}
		for _, n := range c.Nodes {
			cl.Nodes = append(cl.Nodes, u.exec(c.Index, n.Name))
		}
		clusters = append(clusters, cl)
	}
	p, err := coinsphase.New(coinsphase.Config{Clusters: clusters, Archive: res.Archive, Mirror: res.Mirror, Deploy: u.Lab.Coins.Enabled,
		Namespace: u.Lab.Coins.Namespace, Parallel: u.Lab.SSH.Parallel, Out: u.Out,
		Done: func(o phase.Outcome) { u.record(o); u.save() }})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ErrNoSource: the DockerCoins images are built from labctl's source tree.
var ErrNoSource = errors.New("the DockerCoins images are built from labctl's source tree; run labctl from its checkout")
