package pulumi

import (
	"context"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/provision/pulumi/program"
)

// readStack records the nodes of a stack the instructor ran with `pulumi
// up` (provider.pulumi.stack), with the instructor's own Pulumi login,
// backend and passphrase (PULUMI_CONFIG_PASSPHRASE), and changes nothing.
func (p *Provider) readStack(ctx context.Context, r provision.Request) error {
	name := r.Lab.Provider.Pulumi.Stack
	root, err := p.cli(ctx, r)
	if err != nil {
		return err
	}
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root})
	if err != nil {
		return err
	}
	proj := workspace.Project{Name: tokens.PackageName(Project), Runtime: workspace.NewProjectRuntimeInfo("go", nil)}
	if b := r.Lab.Provider.Pulumi.Backend; b != "" {
		proj.Backend = &workspace.ProjectBackend{URL: b}
	}
	work, err := os.MkdirTemp("", "labctl-stack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ws, err := auto.NewLocalWorkspace(ctx, auto.Pulumi(cmd), auto.Project(proj), auto.WorkDir(work))
	if err != nil {
		return err
	}
	st, err := auto.SelectStack(ctx, name, ws)
	if err != nil {
		return fmt.Errorf("provider.pulumi.stack: %s: %w", name, shortErr(err))
	}
	outs, err := st.Outputs(ctx)
	if err != nil {
		return fmt.Errorf("provider.pulumi.stack: %s outputs: %w", name, shortErr(err))
	}
	out, err := program.ParseOutputs(plainOutputs(outs))
	if err != nil {
		return fmt.Errorf("provider.pulumi.stack %s: %w", name, err)
	}
	record(r, out)
	fmt.Fprintf(r.Out, "    read %d clusters from stack %s\n", len(out.Clusters), name)
	return nil
}
