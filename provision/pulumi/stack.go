package pulumi

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/provision/local"
)

// request is op on the lab's stack: the pulumi CLI found or built, and for
// up and preview the program's key and node image (for the local target,
// this machine readied and the image built unless preview only names it).
func (p *Provider) request(ctx context.Context, r provision.Request, op string, preview bool) (Request, error) {
	root, err := p.cli(ctx, r)
	if err != nil {
		return Request{}, err
	}
	req := Request{Op: op, Lab: r.Lab, Dir: dirsOf(r).root, Backend: backendURL(r), CLI: root}
	if dir, ok := strings.CutPrefix(req.Backend, "file://"); ok {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return Request{}, fmt.Errorf("provider.pulumi.backend: cannot open %s: %v", req.Backend, err)
		}
	}
	if op != OpUp && op != OpPreview && op != OpPower {
		return req, nil
	}
	if req.AuthorizedKey, err = p.authorizedKey(r); err != nil {
		return Request{}, fmt.Errorf("ssh.identityFile: %w", err)
	}
	switch {
	case r.Lab.Provider.Pulumi.Target != "local" || op == OpPower:
	case preview:
		req.LocalImage = p.Local.Recipe.Tag()
	default:
		if req.LocalImage, err = p.prepareLocal(ctx, r); err != nil {
			return Request{}, err
		}
	}
	return req, nil
}

// authorizedKey is the public key of the key labctl logs in with,
// generated in the state directory when the lab names none.
func (p *Provider) authorizedKey(r provision.Request) (string, error) {
	if r.Lab.SSH.IdentityFile == "" {
		return local.EnsureKey(p.Identity(r))
	}
	b, err := os.ReadFile(r.Lab.SSH.IdentityFile + ".pub")
	return strings.TrimSpace(string(b)), err
}

// prepareLocal readies this machine for the lab's node containers and
// returns the node image.
func (p *Provider) prepareLocal(ctx context.Context, r provision.Request) (string, error) {
	l, pm := r.Lab, p.Local.Podman
	if err := pm.Available(ctx); err != nil {
		return "", err
	}
	existing, err := pm.Containers(ctx, local.LabelLab, l.Name)
	if err != nil {
		return "", err
	}
	running := 0
	for _, c := range existing {
		if c.Running {
			running++
		}
	}
	if p.Local.HostSetup != nil && running < l.ClusterCount()*l.NodesPerCluster {
		all, err := pm.Names(ctx, local.LabelLab, "")
		if err != nil {
			return "", err
		}
		if err := p.Local.HostSetup(len(all)+l.ClusterCount()*l.NodesPerCluster-len(existing), r.Out); err != nil {
			return "", err
		}
	}
	return local.EnsureImage(ctx, pm, p.Local.Recipe, r.Out)
}
