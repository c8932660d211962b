// Command project is the entry point `pulumi up` runs (Pulumi.yaml's main):
// it reads the lab file named by the labctl:lab config key and runs the
// same program labctl runs through the Automation API; labctl:stopped
// names the clusters whose instances stay stopped.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision/pulumi/program"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg := config.New(ctx, "labctl")
		path := cfg.Get("lab")
		if path == "" {
			path = "lab.yaml"
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(ctx.RootDirectory(), path)
		}
		l, err := lab.Load(lab.LoadOptions{Path: path})
		if err != nil {
			return err
		}
		if l.Provider.Type != "pulumi" || l.Provider.Pulumi.Target != "aws" {
			return fmt.Errorf("%s: provider.type is %s: `pulumi up` makes the pulumi provider's aws target (local nodes come from `labctl up`)", path, l.Provider.Type)
		}
		key, err := publicKey(cfg.Get("publicKey"), l.SSH.IdentityFile)
		if err != nil {
			return err
		}
		spec := program.SpecFromLab(l, key)
		// labctl:stopped lists the clusters kept stopped, as labctl stop
		// records them in its state: `pulumi config set labctl:stopped 2,3`.
		if spec.Stopped, err = program.ParseStopped(cfg.Get("stopped")); err != nil {
			return err
		}
		return program.Program(spec)(ctx)
	})
}

// publicKey is the key the nodes authorize: the config's, or the lab's
// identity file's .pub, or ~/.ssh/id_ed25519.pub.
func publicKey(configured, identity string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	if identity == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		identity = filepath.Join(home, ".ssh", "id_ed25519")
	}
	b, err := os.ReadFile(identity + ".pub")
	if err != nil {
		return "", fmt.Errorf("labctl:publicKey not set and %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
