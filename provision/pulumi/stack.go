package pulumi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	sdk "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/provision/local"
	"github.com/labctl/labctl/provision/pulumi/program"
)

// PluginBinary is the name the engine starts labctl's resource provider
// under (see provision/pulumi/nodeprovider).
const PluginBinary = "pulumi-resource-labctl"

// labStack is the lab's stack in its workspace.
type labStack struct {
	stack auto.Stack
	dirs  dirs
}

// stack opens the lab's stack; with create, it is made if missing and runs
// the class program, else a missing stack is nil.
func (p *Provider) stack(ctx context.Context, r provision.Request, create bool) (*labStack, error) {
	return p.stackFor(ctx, r, create, false)
}

// stackFor is stack; with preview, this machine and its containers are
// left as they are (the local target's image is named, not built).
func (p *Provider) stackFor(ctx context.Context, r provision.Request, create, preview bool) (*labStack, error) {
	d := dirsOf(r)
	for _, dir := range []string{d.root, d.home(), d.work()} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	root, err := p.cli(ctx, r)
	if err != nil {
		return nil, err
	}
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root})
	if err != nil {
		return nil, fmt.Errorf("pulumi CLI %s: %w", filepath.Join(root, "bin", "pulumi"), err)
	}
	pass, err := passphrase(d.passphrase())
	if err != nil {
		return nil, err
	}
	proj := workspace.Project{
		Name:    tokens.PackageName(Project),
		Runtime: workspace.NewProjectRuntimeInfo("go", nil),
		Backend: &workspace.ProjectBackend{URL: backendURL(r)},
	}
	if r.Lab.Provider.Pulumi.Target == "local" {
		self := p.Self
		if self == "" {
			if self, err = os.Executable(); err != nil {
				return nil, err
			}
		}
		if err := relink(self, filepath.Join(d.plugins(), PluginBinary)); err != nil {
			return nil, err
		}
		proj.Plugins = &workspace.Plugins{Providers: []workspace.PluginOptions{{Name: "labctl", Path: d.plugins()}}}
	}
	opts := []auto.LocalWorkspaceOption{
		auto.Pulumi(cmd), auto.Project(proj), auto.WorkDir(d.work()), auto.SecretsProvider("passphrase"),
		auto.EnvVars(map[string]string{
			"PULUMI_CONFIG_PASSPHRASE": pass,
			"PULUMI_HOME":              d.home(),
			"PULUMI_BACKEND_URL":       backendURL(r),
			"PULUMI_SKIP_UPDATE_CHECK": "true",
		}),
	}
	if !create {
		st, err := auto.SelectStackInlineSource(ctx, r.Lab.Name, Project, func(*sdk.Context) error { return nil }, opts...)
		if auto.IsSelectStack404Error(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("pulumi stack %s: %w", r.Lab.Name, shortErr(err))
		}
		return &labStack{stack: st, dirs: d}, nil
	}
	spec, err := p.spec(ctx, r, preview)
	if err != nil {
		return nil, err
	}
	st, err := auto.UpsertStackInlineSource(ctx, r.Lab.Name, Project, program.Program(spec), opts...)
	if err != nil {
		return nil, fmt.Errorf("pulumi stack %s (backend %s): %w", r.Lab.Name, backendURL(r), shortErr(err))
	}
	return &labStack{stack: st, dirs: d}, nil
}

// spec is the program's input; for the local target it readies this
// machine and the node image first.
func (p *Provider) spec(ctx context.Context, r provision.Request, preview bool) (program.Spec, error) {
	var pub string
	var err error
	if r.Lab.SSH.IdentityFile == "" {
		pub, err = local.EnsureKey(p.Identity(r))
	} else {
		var b []byte
		b, err = os.ReadFile(r.Lab.SSH.IdentityFile + ".pub")
		pub = string(b)
	}
	if err != nil {
		return program.Spec{}, fmt.Errorf("ssh.identityFile: %w", err)
	}
	spec := program.SpecFromLab(r.Lab, pub)
	if spec.Target == "local" && preview {
		spec.Local.Image = p.Local.Recipe.Tag()
	} else if spec.Target == "local" {
		if spec.Local.Image, err = p.prepareLocal(ctx, r); err != nil {
			return program.Spec{}, err
		}
	}
	return spec, nil
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
	if p.Local.HostSetup != nil && running < l.Attendees*l.NodesPerCluster {
		all, err := pm.Names(ctx, local.LabelLab, "")
		if err != nil {
			return "", err
		}
		if err := p.Local.HostSetup(len(all)+l.Attendees*l.NodesPerCluster-len(existing), r.Out); err != nil {
			return "", err
		}
	}
	return local.EnsureImage(ctx, pm, p.Local.Recipe, r.Out)
}

// startStopped starts the lab's node containers a reboot stopped.
func (p *Provider) startStopped(ctx context.Context, r provision.Request) error {
	cs, err := p.Local.Podman.Containers(ctx, local.LabelLab, r.Lab.Name)
	if err != nil {
		return err
	}
	var stopped []string
	for _, c := range cs {
		if !c.Running {
			stopped = append(stopped, c.Name)
		}
	}
	if len(stopped) == 0 {
		return nil
	}
	fmt.Fprintf(r.Out, "    starting %s\n", strings.Join(stopped, ", "))
	return p.Local.Podman.Start(ctx, stopped...)
}

// passphrase reads the stack's secrets passphrase, generating it on first
// use (before any stack exists, so a crash cannot lose it).
func passphrase(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		if s := strings.TrimSpace(string(b)); s != "" {
			return s, nil
		}
		return "", fmt.Errorf("%s is empty: the stack's secrets cannot be read without it", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	s := base64.RawURLEncoding.EncodeToString(buf)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	return s, f.Close()
}
