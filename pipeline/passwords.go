package pipeline

import (
	"context"
	"fmt"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/reset"
)

// rotate gives clusters new passwords and a new intra-cluster key in the
// state, and removes the old key from their nodes; nodeprep's login step
// (run next) sets both on the nodes, and `labctl cards` prints the new
// passwords.
func (r *Reset) rotate(ctx context.Context, clusters []*lab.Cluster) error {
	if r.Lab.Login.Password != "" {
		return fmt.Errorf("%w: --new-passwords: login.password in the lab file sets every password; change it there", ErrBadInput)
	}
	used := map[string]bool{}
	for _, c := range r.State.Clusters {
		used[c.Login.Password] = true
	}
	for _, c := range clusters {
		for {
			p, err := lab.NewPassword()
			if err != nil {
				return err
			}
			if !used[p] {
				used[p] = true
				c.Login.Password = p
				break
			}
		}
		c.Key = nil // nodeprep makes a new one
		if _, err := reset.OnNodes(ctx, nodeExecs(r.State, r.eng, c), "rotate", c.Login.User); err != nil {
			return stepErr("new key", fmt.Errorf("cluster %02d: %w", c.Index, err))
		}
	}
	return r.Store.Save(r.State)
}
