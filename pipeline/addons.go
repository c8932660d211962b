package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/labctl/labctl/addons"
	"github.com/labctl/labctl/artifacts/goimage"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
)

// labctlModule is labctl's own module path (its helper images' source).
const labctlModule = "github.com/labctl/labctl"

// buildAddonImages builds the add-ons' images (labctl's own helpers
// always; the upstream ones when nodes are offline) and leaves their
// references and archives.
func (u *Up) buildAddonImages(ctx context.Context, selected []addons.Addon, b *built, cacheOnly bool) error {
	b.addonEnv = addons.Env{Lab: u.Lab, Images: map[string]string{}}
	b.archives = map[string]string{}
	opts := goimage.Options{Log: remote.Indent(u.Out), CacheOnly: cacheOnly}
	if u.Lab.Kubernetes.Artifacts != "" {
		opts.CacheDir = filepath.Join(u.Lab.Kubernetes.Artifacts, "images")
	}
	var missing []error
	for _, a := range selected {
		for _, img := range a.Images {
			if img.Build == nil || (!img.Own() && u.Lab.Kubernetes.Source != "cache") {
				b.addonEnv.Images[img.Key] = img.Upstream
				continue
			}
			spec := *img.Build
			if img.Own() {
				own, err := u.ownModule(ctx)
				if err != nil {
					return fmt.Errorf("add-on %s: %w", a.Name, err)
				}
				spec.Dir = own
			}
			res, err := goimage.Build(ctx, spec, opts)
			if cacheOnly && errors.Is(err, goimage.ErrNotCached) {
				missing = append(missing, err) // a dry run lists every miss
				continue
			}
			if err != nil {
				return fmt.Errorf("add-on %s: %w", a.Name, err)
			}
			b.addonEnv.Images[img.Key] = res.Ref
			b.archives[res.Ref] = res.Archive
		}
	}
	return errors.Join(missing...)
}

// addonsPhase installs the add-ons with the images the build left.
func (u *Up) addonsPhase(selected []addons.Addon, b *built) Phase {
	if u.DryRun {
		return &addonsPlan{u: u, selected: selected}
	}
	return &addons.Phase{Context: u.phaseContext(), Addons: selected, Env: b.addonEnv, Archives: b.archives,
		Kube: u.kube, Applied: u.addonsApplied}
}

// addonsApplied keeps what is applied on cluster c now (the addons
// phase records the outcome and saves after it).
func (u *Up) addonsApplied(c int, digest string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.State.Cluster(c).Addons = digest
}

// rawExec is a node's executor without the probe round's answers: for
// tunnels to the API server and checks that must see the node as it is now.
func (u *Up) rawExec(c int, n string) remote.Executor {
	return provision.ExecutorFor(u.eng, u.State, c, n)
}

// addonsPlan is the addons phase under --dry-run: what would be applied,
// without building an image or talking to an API server.
type addonsPlan struct {
	u        *Up
	selected []addons.Addon
}

func (a *addonsPlan) Title() string                 { return "addons" }
func (a *addonsPlan) Run(ctx context.Context) error { return nil }

func (a *addonsPlan) DryRun(ctx context.Context, w io.Writer) error {
	for _, c := range a.u.State.Clusters {
		state := "not applied yet"
		if c.Addons != "" {
			state = "applied before (objects compared by digest)"
		}
		fmt.Fprintf(w, "    cluster %02d: add-ons %s: %s\n", c.Index, addons.Names(a.selected), state)
	}
	return nil
}
