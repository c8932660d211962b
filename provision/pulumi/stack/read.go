package stack

import (
	"context"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	lp "github.com/labctl/labctl/provision/pulumi"
)

// outputs reads the nodes of a stack the instructor ran with `pulumi up`
// (provider.pulumi.stack), with the instructor's own Pulumi login, backend
// and passphrase (PULUMI_CONFIG_PASSPHRASE), and changes nothing.
func (rn *Runner) outputs(ctx context.Context) (*lp.Result, error) {
	name := rn.Req.Lab.Provider.Pulumi.Stack
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: rn.Req.CLI})
	if err != nil {
		return nil, err
	}
	proj := workspace.Project{Name: tokens.PackageName(Project), Runtime: workspace.NewProjectRuntimeInfo("go", nil)}
	if b := rn.Req.Backend; b != "" {
		proj.Backend = &workspace.ProjectBackend{URL: b}
	}
	work, err := os.MkdirTemp("", "labctl-stack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	ws, err := auto.NewLocalWorkspace(ctx, auto.Pulumi(cmd), auto.Project(proj), auto.WorkDir(work))
	if err != nil {
		return nil, err
	}
	st, err := auto.SelectStack(ctx, name, ws)
	if err != nil {
		return nil, fmt.Errorf("provider.pulumi.stack: %s: %w", name, shortErr(err))
	}
	outs, err := st.Outputs(ctx)
	if err != nil {
		return nil, fmt.Errorf("provider.pulumi.stack: %s outputs: %w", name, shortErr(err))
	}
	r, err := result(outs)
	if err != nil {
		return nil, fmt.Errorf("provider.pulumi.stack %s: %w", name, err)
	}
	return r, nil
}
