// Package stack runs labctl's class program through Pulumi's Automation
// API for labctl-pulumi (cmd/labctl-pulumi): the lab's stack in a
// workspace of the lab's state directory, `pulumi up`, `preview`,
// `destroy`, and the outputs of an instructor's own stack. labctl itself
// never links it (see provision/pulumi/helper.go).
package stack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	sdk "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/labctl/labctl/provision/local"
	lp "github.com/labctl/labctl/provision/pulumi"
	"github.com/labctl/labctl/provision/pulumi/nodeprovider"
	"github.com/labctl/labctl/provision/pulumi/program"
)

// Project is the Pulumi project name, as in Pulumi.yaml.
const Project = "labctl"

// Runner does one request's op; its lines go to Out.
type Runner struct {
	Req lp.Request
	Out io.Writer
	// Local makes and removes the local target's nodes (recovery, a
	// reboot's stopped containers).
	Local *local.Provider
	// Self is the binary the engine starts as the resource provider
	// (default: this executable).
	Self string
	// Cloud is AWS for labctl sweep (default awscloud's, the AWS SDK's).
	Cloud lp.Cloud
}

// dirs are the provider's places in the lab's state directory.
type dirs struct{ root string }

func (d dirs) passphrase() string { return filepath.Join(d.root, "passphrase") }
func (d dirs) home() string       { return filepath.Join(d.root, "home") }
func (d dirs) work() string       { return filepath.Join(d.root, "work") }
func (d dirs) plugins() string    { return filepath.Join(d.root, "plugins") }

// labStack is the lab's stack in its workspace.
type labStack struct {
	stack auto.Stack
}

// open opens the lab's stack; with create, it is made if missing and runs
// the class program, else a missing stack is nil.
func (rn *Runner) open(ctx context.Context, create bool) (*labStack, error) {
	req, l := rn.Req, rn.Req.Lab
	d := dirs{req.Dir}
	for _, dir := range []string{d.root, d.home(), d.work()} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: req.CLI})
	if err != nil {
		return nil, fmt.Errorf("pulumi CLI %s: %w", filepath.Join(req.CLI, "bin", "pulumi"), err)
	}
	pass, err := passphrase(d.passphrase())
	if err != nil {
		return nil, err
	}
	proj := workspace.Project{
		Name:    tokens.PackageName(Project),
		Runtime: workspace.NewProjectRuntimeInfo("go", nil),
		Backend: &workspace.ProjectBackend{URL: req.Backend},
	}
	if l.Provider.Pulumi.Target == "local" {
		self := rn.Self
		if self == "" {
			if self, err = os.Executable(); err != nil {
				return nil, err
			}
		}
		if err := lp.Relink(self, filepath.Join(d.plugins(), nodeprovider.Binary)); err != nil {
			return nil, err
		}
		proj.Plugins = &workspace.Plugins{Providers: []workspace.PluginOptions{{Name: "labctl", Path: d.plugins()}}}
	}
	opts := []auto.LocalWorkspaceOption{
		auto.Pulumi(cmd), auto.Project(proj), auto.WorkDir(d.work()), auto.SecretsProvider("passphrase"),
		auto.EnvVars(map[string]string{
			"PULUMI_CONFIG_PASSPHRASE": pass,
			"PULUMI_HOME":              d.home(),
			"PULUMI_BACKEND_URL":       req.Backend,
			"PULUMI_SKIP_UPDATE_CHECK": "true",
		}),
	}
	if !create {
		st, err := auto.SelectStackInlineSource(ctx, l.Name, Project, func(*sdk.Context) error { return nil }, opts...)
		if auto.IsSelectStack404Error(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("pulumi stack %s: %w", l.Name, shortErr(err))
		}
		return &labStack{stack: st}, nil
	}
	spec := program.SpecFromLab(l, req.AuthorizedKey)
	spec.Stopped = req.Stopped
	if spec.Target == "local" {
		spec.Local.Image = req.LocalImage
	}
	st, err := auto.UpsertStackInlineSource(ctx, l.Name, Project, program.Program(spec), opts...)
	if err != nil {
		return nil, fmt.Errorf("pulumi stack %s (backend %s): %w", l.Name, req.Backend, shortErr(err))
	}
	return &labStack{stack: st}, nil
}

// startStopped starts the lab's node containers a reboot stopped.
func (rn *Runner) startStopped(ctx context.Context) error {
	cs, err := rn.Local.Podman.Containers(ctx, local.LabelLab, rn.Req.Lab.Name)
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
	fmt.Fprintf(rn.Out, "    starting %s\n", strings.Join(stopped, ", "))
	return rn.Local.Podman.Start(ctx, stopped...)
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
