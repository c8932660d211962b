// Package pulumi is labctl's pulumi provider: it has labctl-pulumi
// (cmd/labctl-pulumi, see helper.go) run the class program
// (provision/pulumi/program) through Pulumi's Automation API, with the
// stack named after the lab, a file:// backend and a generated secrets
// passphrase in the lab's state directory, and records the nodes from the
// stack's output contract, host keys included. It links no Pulumi SDK.
package pulumi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/labctl/labctl/artifacts"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/provision/local"
)

// Project is the Pulumi project name, as in Pulumi.yaml.
const Project = "labctl"

// Provider is the pulumi provider.
type Provider struct {
	// Local makes the local target's nodes (through labctl's resource
	// provider) and readies this machine for them.
	Local *local.Provider
	// CLI finds or builds the pulumi CLI (default artifacts.Pulumi).
	CLI func(ctx context.Context, r provision.Request) (string, error)
	// Helper finds or builds labctl-pulumi, which also serves as the
	// local target's resource provider (default: built from labctl's
	// source, see helper.go).
	Helper func(ctx context.Context, r provision.Request) (string, error)
	// Now is the clock of estimates and power records (default time.Now).
	Now func() time.Time
	// SSHWait bounds labctl start's wait for the nodes' sshd (default 5
	// minutes).
	SSHWait time.Duration
}

// New returns the provider with its defaults.
func New() *Provider { return &Provider{Local: local.New()} }

// Identity is the key labctl logs in with: the lab's ssh.identityFile, or
// one generated in the state directory.
func (p *Provider) Identity(r provision.Request) string {
	if r.Lab.SSH.IdentityFile != "" {
		return r.Lab.SSH.IdentityFile
	}
	return filepath.Join(r.StateDir, "ssh", "id_ed25519")
}

// dirs are the provider's places in the lab's state directory.
type dirs struct{ root string }

func (d dirs) backend() string { return filepath.Join(d.root, "backend") }
func (d dirs) cli() string     { return filepath.Join(d.root, "cli") }

func dirsOf(r provision.Request) dirs { return dirs{filepath.Join(r.StateDir, "pulumi")} }

// backendURL is provider.pulumi.backend, or the file backend in the state.
func backendURL(r provision.Request) string {
	if b := r.Lab.Provider.Pulumi.Backend; b != "" {
		return b
	}
	return "file://" + dirsOf(r).backend()
}

// Check refuses what would fail before anything is planned: the target's
// credentials, the backend, the pulumi CLI. Its errors are bad input.
func (p *Provider) Check(ctx context.Context, r provision.Request) error {
	l := r.Lab
	if l.Provider.Pulumi.Target == "aws" {
		if err := awsCredentials(os.Getenv, fileExists); err != nil {
			return err
		}
	}
	if u := backendURL(r); strings.HasPrefix(u, "file://") {
		if err := writable(strings.TrimPrefix(u, "file://")); err != nil {
			return fmt.Errorf("provider.pulumi.backend: cannot write to %s: %v", u, err)
		}
	}
	if _, err := p.findCLI(ctx, r); err != nil {
		return err
	}
	return nil
}

// writable checks that dir, or the nearest directory above it that
// exists, takes a new file; it creates nothing that stays (Check runs
// before `up --dry-run` too).
func writable(dir string) error {
	for {
		info, err := os.Stat(dir)
		if err == nil {
			if !info.IsDir() {
				return fmt.Errorf("%s is not a directory", dir)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) || filepath.Dir(dir) == dir {
			return err
		}
		dir = filepath.Dir(dir)
	}
	f, err := os.CreateTemp(dir, ".labctl-check-")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// cli is the pulumi CLI, linked as DIR/bin/pulumi: the Automation API
// wants an installation root.
func (p *Provider) cli(ctx context.Context, r provision.Request) (string, error) {
	bin, err := p.findCLI(ctx, r)
	if err != nil {
		return "", err
	}
	root := dirsOf(r).cli()
	if err := Relink(bin, filepath.Join(root, "bin", "pulumi")); err != nil {
		return "", err
	}
	return root, nil
}

// findCLI finds or builds the pulumi CLI in labctl's cache.
func (p *Provider) findCLI(ctx context.Context, r provision.Request) (string, error) {
	find := p.CLI
	if find == nil {
		find = func(ctx context.Context, r provision.Request) (string, error) {
			dir := ""
			if r.Lab.Kubernetes.Artifacts != "" {
				dir = filepath.Join(r.Lab.Kubernetes.Artifacts, "pulumi")
			}
			return artifacts.Pulumi(ctx, artifacts.PulumiOptions{CacheDir: dir, Log: r.Out})
		}
	}
	return find(ctx, r)
}

// Relink points link at target, replacing what was there.
func Relink(target, link string) error {
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		return err
	}
	if cur, err := os.Readlink(link); err == nil && cur == target {
		return nil
	}
	tmp := link + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, link)
}

// Provision runs `pulumi up` on the lab's stack (or reads the stack named
// by provider.pulumi.stack) and records the nodes of its outputs.
// Every instance runs after it (labctl stop's stopped ones start again).
func (p *Provider) Provision(ctx context.Context, r provision.Request) error {
	recordWhere(r)
	if r.Lab.Provider.Pulumi.Stack != "" {
		return p.readStack(ctx, r)
	}
	if r.Lab.Provider.Pulumi.Target == "aws" {
		if e, err := LabEstimate(r.Lab); err == nil {
			for _, w := range e.Warnings {
				fmt.Fprintln(r.Out, "    "+w)
			}
			fmt.Fprintln(r.Out, "    "+e.Line())
		}
	}
	req, err := p.request(ctx, r, OpUp, false)
	if err != nil {
		return err
	}
	clusters, err := p.run(ctx, r, req, r.Out)
	if err != nil {
		return err
	}
	record(r, clusters)
	if r.Lab.Provider.Pulumi.Target == "aws" {
		// The hours a cluster's instances run count from here (labctl
		// status adds them up, and the stopped ones apart).
		now := p.now()
		for i := range r.State.Clusters {
			if c := &r.State.Clusters[i]; c.Power == nil {
				c.Power = &lab.Power{Since: now}
			}
		}
	}
	return nil
}

func (p *Provider) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

// readStack records the nodes of a stack the instructor ran with `pulumi
// up` (provider.pulumi.stack), with the instructor's own Pulumi login,
// backend and passphrase (PULUMI_CONFIG_PASSPHRASE), and changes nothing.
func (p *Provider) readStack(ctx context.Context, r provision.Request) error {
	root, err := p.cli(ctx, r)
	if err != nil {
		return err
	}
	req := Request{Op: OpOutputs, Lab: r.Lab, Backend: r.Lab.Provider.Pulumi.Backend, CLI: root}
	clusters, err := p.run(ctx, r, req, r.Out)
	if err != nil {
		return err
	}
	record(r, clusters)
	fmt.Fprintf(r.Out, "    read %d clusters from stack %s\n", len(clusters), r.Lab.Provider.Pulumi.Stack)
	return nil
}

// record writes the contract's nodes into the state, host keys pinned from
// provisioning, and forgets clusters the stack no longer has.
func record(r provision.Request, clusters []Cluster) {
	keep := map[int]bool{}
	for _, c := range clusters {
		keep[c.Index] = true
		for _, n := range c.Nodes {
			provision.SetNode(r.State, c.Index, n.Node, true)
			if n.User != "" && n.User != r.Lab.SSH.User {
				fmt.Fprintf(r.Out, "note: %02d/%s logs in as %s, ssh.user is %s\n", c.Index, n.Name, n.User, r.Lab.SSH.User)
			}
		}
	}
	kept := r.State.Clusters[:0]
	for _, c := range r.State.Clusters {
		if keep[c.Index] {
			kept = append(kept, c)
		}
	}
	r.State.Clusters = kept
}

// Destroy runs `pulumi destroy` and removes the stack. A stack named by
// provider.pulumi.stack is the instructor's: labctl leaves it alone.
func (p *Provider) Destroy(ctx context.Context, r provision.Request) error {
	if len(r.Clusters) > 0 {
		return fmt.Errorf("--cluster: the pulumi provider removes clusters when attendees or spares go down; lower them and run labctl up")
	}
	if s := r.Lab.Provider.Pulumi.Stack; s != "" {
		fmt.Fprintf(r.Out, "note: stack %s is yours (provider.pulumi.stack): labctl forgets the lab, `pulumi destroy` removes the machines\n", s)
		return nil
	}
	req, err := p.request(ctx, r, OpDestroy, false)
	if err != nil {
		return err
	}
	_, err = p.run(ctx, r, req, r.Out)
	return err
}
