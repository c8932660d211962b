package main

import (
	"errors"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/pipeline"
	"github.com/labctl/labctl/provision"
)

func newSweepCmd(a *app) *cobra.Command {
	var root string
	var yes bool
	var orphans awsOrphanFlags
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Destroy every lab whose class has ended (endsAt), so no forgotten fleet keeps running",
		Long: `Look at every lab under --root (one state directory each, as labctl up
makes them) and list those whose end date (endsAt in the lab file, recorded
by up) has passed; with --yes, destroy them. Labs without an end date, or
with one still ahead, are left alone. Local and kind labs are destroyed
from their state alone; pulumi labs need labctl destroy with their lab file.

On AWS (the regions of the pulumi labs under --root, and --aws-region),
it then lists the resources tagged as labctl's that no state knows: those
a lab's stack does not hold (a crashed run's), and those of labs unknown
here whose end has passed (or named by --orphans-of); with --yes it
deletes them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := orphans.check(); err != nil {
				return err
			}
			if root == "" {
				d, err := lab.DefaultStateDir("x")
				if err != nil {
					return err
				}
				root = filepath.Dir(d)
			}
			w := &pipeline.Sweep{Root: root, Now: time.Now().UTC(), Yes: yes, Out: a.out,
				Destroy: func(l *lab.Lab, st *lab.Store, s *lab.State) error {
					prov, err := providerFor(l)
					if err != nil {
						return err
					}
					return prov.Destroy(cmd.Context(), provision.Request{Lab: l, StateDir: st.Dir(), State: s, Out: a.out})
				},
			}
			a.printf("==> sweep %s\n", root)
			err := w.Run()
			return errors.Join(err, orphans.run(cmd.Context(), a, root, yes))
		},
	}
	orphans.add(cmd)
	cmd.Flags().StringVar(&root, "root", "", "directory holding the labs' state directories (default $XDG_DATA_HOME/labctl)")
	cmd.Flags().BoolVar(&yes, "yes", false, "destroy the ended labs (without it: list them)")
	return cmd
}
