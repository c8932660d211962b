package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/cards"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/pipeline"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
)

func newUpCmd(a *app) *cobra.Command {
	var only string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Converge the lab: provision nodes, prepare them, build the clusters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if only != "" && !slices.Contains(pipeline.Phases, only) {
				return badInput("--only: %q is not one of %s", only, strings.Join(pipeline.Phases, ", "))
			}
			l, err := a.lab()
			if err != nil {
				return err
			}
			// What would stop `labctl cards` stops the class before it is built.
			if err := cards.Check(l, filepath.Dir(a.file)); err != nil {
				return usageError{err}
			}
			open := lab.Open
			if dryRun {
				open = lab.OpenDryRun // a dry run changes nothing
			}
			l, store, s, err := a.openStore(l, "labctl up", open)
			if err != nil {
				return err
			}
			defer store.Close()
			if s.Provider.Type != "" && s.Provider.Type != l.Provider.Type {
				return badInput("provider.type: this lab was brought up with %s; `labctl destroy` it before switching to %s", s.Provider.Type, l.Provider.Type)
			}
			prov, err := providerFor(l)
			if err != nil {
				return err
			}
			if c, ok := prov.(provision.Checker); ok && (only == "" || only == "provision") {
				if err := c.Check(cmd.Context(), provision.Request{Lab: l, StateDir: store.Dir(), State: s, Out: a.out}); err != nil {
					return usageError{err}
				}
			}
			if w := privilegedNodes(l); w != "" {
				fmt.Fprintln(a.errOut, w)
			}
			wd, _ := os.Getwd()
			u := &pipeline.Up{
				Lab: l, State: s, Store: store, Provider: prov, Out: a.out,
				Only: only, DryRun: dryRun, SourceDir: wd, Verbose: a.verbose,
				Engine: func(pin func(remote.Host, string) error) (*remote.Engine, error) {
					return engineFor(l, store.Dir(), s, pin)
				},
			}
			return u.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&only, "only", "", "run one phase: "+strings.Join(pipeline.Phases, ", "))
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan, change nothing")
	return cmd
}

// privilegedNodes warns when a lab of several attendees runs its nodes as
// privileged containers on this machine: an attendee's sudo on a node is
// root here, and reaches the other attendees' nodes and the instructor's
// files. Fine for rehearsals and CI; not for a class of strangers. Local
// nodes in a user namespace (provider.userns) are not root here.
func privilegedNodes(l *lab.Lab) string {
	if !(l.LocalNodes() || l.Provider.Type == "kind") || l.Attendees < 2 || l.Provider.UserNS {
		return ""
	}
	instead := "VMs (provider pulumi/aws, inventory)"
	if l.Provider.Type == "local" {
		instead = "nodes in a user namespace (provider.userns: true) or VMs (provider pulumi/aws, inventory)"
	}
	return fmt.Sprintf("warning: %d attendees share this machine: %s nodes are privileged containers, so an attendee with sudo on a node is root on this machine (and on every other attendee's nodes); use them for rehearsals and CI, and %s for a class of strangers",
		l.Attendees, l.Provider.Type, instead)
}
