package pulumi

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/labctl/labctl/provision"
)

// recoverStack undoes what a labctl killed during `pulumi up` leaves: the
// file backend's lock on the stack (labctl holds the lab's own lock, so no
// other pulumi can be working on it), and pending operations, which Pulumi
// refuses to go on with. They are dropped from the state; the resources
// they were making are adopted by the next create (labctl:local:Node finds
// its container by name) or found again by refresh.
func recoverStack(ctx context.Context, st *labStack, r provision.Request) error {
	if strings.HasPrefix(backendURL(r), "file://") {
		locks := filepath.Join(strings.TrimPrefix(backendURL(r), "file://"), ".pulumi", "locks")
		filepath.WalkDir(locks, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && filepath.Base(filepath.Dir(path)) == r.Lab.Name {
				fmt.Fprintf(r.Out, "    removing the lock of a pulumi that did not finish: %s\n", path)
				os.Remove(path)
			}
			return nil
		})
	}
	dep, err := st.stack.Export(ctx)
	if err != nil {
		return fmt.Errorf("pulumi stack export %s: %w", r.Lab.Name, shortErr(err))
	}
	if dep.Version != 3 || len(dep.Deployment) == 0 {
		return nil
	}
	var d apitype.DeploymentV3
	if err := json.Unmarshal(dep.Deployment, &d); err != nil {
		return fmt.Errorf("pulumi stack export %s: %w", r.Lab.Name, err)
	}
	if len(d.PendingOperations) == 0 {
		return nil
	}
	for _, op := range d.PendingOperations {
		fmt.Fprintf(r.Out, "    clearing a pending %s of %s (labctl was interrupted)\n", op.Type, op.Resource.URN)
	}
	d.PendingOperations = nil
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	dep.Deployment = b
	if err := st.stack.Import(ctx, dep); err != nil {
		return fmt.Errorf("pulumi stack import %s: %w", r.Lab.Name, shortErr(err))
	}
	return nil
}
