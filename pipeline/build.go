package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/labctl/labctl/addons"
	"github.com/labctl/labctl/artifacts"
	"github.com/labctl/labctl/artifacts/goimage"
	"github.com/labctl/labctl/coins/images"
	"github.com/labctl/labctl/nodeprep"
	"github.com/labctl/labctl/remote"
)

// built is what up's build phase leaves for the phases after it. Under
// --dry-run it holds what the caches already have, and missing names the
// builds that are not there.
type built struct {
	uploads    nodeprep.Uploads
	pauseImage string
	addonEnv   addons.Env
	archives   map[string]string // add-on image reference -> archive
	coins      *images.Result
	missing    []string
}

// buildStep is one titled build of up's build phase: it fills b, from
// the cache when its recipe is there; cacheOnly builds nothing and
// returns goimage.ErrNotCached on a miss.
type buildStep struct {
	title string
	run   func(ctx context.Context, b *built, cacheOnly bool) error
}

// buildPhase runs the heavy builds this run needs (Kubernetes artifacts,
// tools, the web terminal, add-on and DockerCoins images), each cached by
// its recipe, as titled steps before any machine is made: a build that
// fails leaves nothing running. A dry run looks each one up in its cache
// and builds nothing.
type buildPhase struct {
	out   io.Writer
	steps []buildStep
	built built
}

func (p *buildPhase) Title() string {
	return "build (each cached by its recipe; a first build takes a while)"
}

func (p *buildPhase) Run(ctx context.Context) error {
	for _, s := range p.steps {
		err := s.run(ctx, &p.built, true)
		if err == nil {
			fmt.Fprintf(p.out, "    %s: in the cache\n", s.title)
			continue
		}
		if !errors.Is(err, goimage.ErrNotCached) {
			return fmt.Errorf("%s: %w", s.title, err)
		}
		fmt.Fprintf(p.out, "    %s: building\n", s.title)
		start := time.Now()
		if err := s.run(ctx, &p.built, false); err != nil {
			return fmt.Errorf("%s: %w", s.title, err)
		}
		fmt.Fprintf(p.out, "    %s: built in %s\n", s.title, time.Since(start).Round(time.Second))
	}
	return nil
}

func (p *buildPhase) DryRun(ctx context.Context, w io.Writer) error {
	for _, s := range p.steps {
		err := s.run(ctx, &p.built, true)
		switch {
		case err == nil:
			fmt.Fprintf(w, "    %s: in the cache\n", s.title)
		case errors.Is(err, goimage.ErrNotCached):
			fmt.Fprintf(w, "    %s: would build (%s)\n", s.title, strings.ReplaceAll(err.Error(), "\n", "; "))
			p.built.missing = append(p.built.missing, s.title)
		default:
			return fmt.Errorf("%s: %w", s.title, err)
		}
	}
	return nil
}

// buildPhase lists the builds that the phases this run wants need.
func (u *Up) buildPhase(selected []addons.Addon) *buildPhase {
	p := &buildPhase{out: u.Out}
	add := func(ok bool, title string, run func(context.Context, *built, bool) error) {
		if ok {
			p.steps = append(p.steps, buildStep{title, run})
		}
	}
	prep := u.want("nodeprep") && u.Lab.Provider.Type != "kind"
	cache := u.Lab.Kubernetes.Source == "cache"
	add(prep && cache, "Kubernetes "+u.Lab.Kubernetes.Version+" artifact cache (built once per version; the first build takes about 20 minutes)", u.buildKubernetes)
	add(prep && cache, "attendee tools (helm, stern, ...)", u.buildTools)
	add(prep && u.Lab.WebTermEnabled(), "web terminal (agent and xterm.js)", u.buildWebTerm)
	add(u.want("addons"), "add-on images ("+addons.Names(selected)+")", func(ctx context.Context, b *built, cacheOnly bool) error {
		return u.buildAddonImages(ctx, selected, b, cacheOnly)
	})
	add(u.want("coins") && u.coinsSkip == nil, "DockerCoins images", u.buildCoins)
	return p
}

// buildKubernetes is the artifact cache of the lab's Kubernetes version:
// kubeadm, kubelet, kubectl and the images kubeadm pulls (images.tar).
func (u *Up) buildKubernetes(ctx context.Context, b *built, cacheOnly bool) error {
	m, err := artifacts.Build(ctx, artifacts.Options{KubernetesVersion: u.Lab.Kubernetes.Version,
		CacheDir: u.Lab.Kubernetes.Artifacts, Log: remote.Indent(u.Out), CacheOnly: cacheOnly})
	if err != nil {
		return err
	}
	for _, img := range m.Images {
		if strings.Contains(img, "/pause:") {
			b.pauseImage = img
		}
	}
	b.uploads.KubernetesImages = m.Images
	for _, name := range []string{"kubeadm", "kubelet", "kubectl", "images.tar"} {
		path := m.Path(name)
		if path == "" {
			return fmt.Errorf("artifact cache %s has no %s", m.Dir, name)
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
		b.uploads.Kubernetes = append(b.uploads.Kubernetes, nodeprep.File{Source: path, SHA256: sum, Dest: stage + name, Mode: mode})
	}
	return nil
}

// buildTools are the attendees' tools built from their modules.
func (u *Up) buildTools(ctx context.Context, b *built, cacheOnly bool) error {
	dir := ""
	if u.Lab.Kubernetes.Artifacts != "" {
		dir = filepath.Join(u.Lab.Kubernetes.Artifacts, "tools")
	}
	tm, err := artifacts.BuildTools(ctx, artifacts.ToolsOptions{CacheDir: dir, Log: remote.Indent(u.Out), CacheOnly: cacheOnly})
	if err != nil {
		return err
	}
	for _, a := range tm.Artifacts {
		b.uploads.Tools = append(b.uploads.Tools, nodeprep.File{Source: tm.Path(a.Name), SHA256: a.SHA256, Dest: stage + a.Name, Mode: 0o755})
	}
	return nil
}

// buildCoins builds the DockerCoins images (cached by their inputs).
func (u *Up) buildCoins(ctx context.Context, b *built, cacheOnly bool) error {
	mod, err := u.ownModule(ctx)
	if err != nil {
		return err
	}
	cache, err := userCache("dockercoins")
	if err != nil {
		return err
	}
	opts := images.Options{Dir: cache, Keyed: true, ModuleDir: mod, CacheOnly: cacheOnly}
	if !cacheOnly { // a lookup's "up to date" would say the step's line twice
		opts.Log = remote.Indent(u.Out)
	}
	b.coins, err = images.Build(ctx, opts)
	return err
}

// releaseDownloads are the tools' release archives, for nodes that take
// Kubernetes from release packages instead of labctl's cache.
func releaseDownloads() map[string][]nodeprep.Download {
	d := map[string][]nodeprep.Download{}
	for _, arch := range artifacts.ReleaseArches() {
		for _, t := range artifacts.Tools {
			d[arch] = append(d[arch], nodeprep.Download{Name: t.Name, URL: t.Release(arch), SHA256: t.Checksums[arch], Member: t.Member(arch)})
		}
	}
	return d
}

// ErrNoSource: the DockerCoins images are built from labctl's source tree.
var ErrNoSource = errors.New("the DockerCoins images are built from labctl's source tree; run labctl from its checkout")
