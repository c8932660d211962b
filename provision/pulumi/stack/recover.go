package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/labctl/labctl/provision/local"
	"github.com/labctl/labctl/provision/pulumi/program"
)

// recoverStack undoes what a labctl killed during `pulumi up` leaves: the
// file backend's lock on the stack (labctl holds the lab's own lock, so no
// other pulumi can be working on it), and pending operations, which Pulumi
// refuses to go on with. They are dropped from the state; the resources
// they were making are removed when labctl knows how (a local node a
// killed podman may have left half made: the next create makes it anew),
// else found again by refresh.
func (rn *Runner) recoverStack(ctx context.Context, st *labStack) error {
	lab := rn.Req.Lab
	if strings.HasPrefix(rn.Req.Backend, "file://") {
		locks := filepath.Join(strings.TrimPrefix(rn.Req.Backend, "file://"), ".pulumi", "locks")
		filepath.WalkDir(locks, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(path)) == lab.Name {
				fmt.Fprintf(rn.Out, "    removing the lock of a pulumi that did not finish: %s\n", path)
				os.Remove(path)
			}
			return nil
		})
	}
	dep, err := st.stack.Export(ctx)
	if err != nil {
		return fmt.Errorf("pulumi stack export %s: %w", lab.Name, shortErr(err))
	}
	if dep.Version != 3 || len(dep.Deployment) == 0 {
		return nil
	}
	var d apitype.DeploymentV3
	if err := json.Unmarshal(dep.Deployment, &d); err != nil {
		return fmt.Errorf("pulumi stack export %s: %w", lab.Name, err)
	}
	if len(d.PendingOperations) == 0 {
		return nil
	}
	for _, op := range d.PendingOperations {
		fmt.Fprintf(rn.Out, "    clearing a pending %s of %s (labctl was interrupted)\n", op.Type, op.Resource.URN)
		if err := rn.abandon(ctx, op); err != nil {
			return err
		}
	}
	d.PendingOperations = nil
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	dep.Deployment = b
	if err := st.stack.Import(ctx, dep); err != nil {
		return fmt.Errorf("pulumi stack import %s: %w", lab.Name, shortErr(err))
	}
	return nil
}

// abandon removes what an interrupted create of a local node left: it
// was never recorded, so nothing was done on it yet.
func (rn *Runner) abandon(ctx context.Context, op apitype.OperationV2) error {
	if op.Type != apitype.OperationTypeCreating || string(op.Resource.Type) != program.LocalNodeType {
		return nil
	}
	in := op.Resource.Inputs
	labName, _ := in["lab"].(string)
	node, _ := in["node"].(string)
	cluster, _ := in["cluster"].(float64)
	if labName != rn.Req.Lab.Name || node == "" || cluster < 1 {
		return nil
	}
	fmt.Fprintf(rn.Out, "    removing %s, half made by the interrupted run\n", local.ContainerName(labName, int(cluster), node))
	if err := rn.Local.RemoveNode(ctx, labName, int(cluster), node); err != nil {
		return err
	}
	if subnet, _ := in["subnet"].(string); subnet != "" {
		return rn.Local.ReleaseAddress(labName, subnet, int(cluster), node)
	}
	return nil
}
