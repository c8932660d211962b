package main

import (
	"bytes"
	"time"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/check"
)

func newCheckCmd(a *app) *cobra.Command {
	var clusters, attendees []int
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "check [CHAPTER...] [--cluster N... | --attendee N...]",
		Short: "Evaluate the course's checkpoints on every cluster: who finished which chapter",
		Long: `Evaluate the checks of the given chapters (default: all, in course order) on
every attendee cluster in parallel (ssh.parallel at once, each cluster within
--timeout) through the Kubernetes API, and print one row per attendee, one
column per check, then per chapter how many attendees finished it and who is
behind, with the first reason. A cluster that cannot be reached is a row that
says so. The checks are the shipped course's plus the lab file's checks: file.
--json prints the rows for scripts.

In a lab with spares, the rows are the attendees ("01 → 03": attendee 01 on
cluster 03, after labctl swap); spares are checked only when --cluster
names them. --attendee N selects the cluster that serves attendee N.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if timeout <= 0 {
				return badInput("--timeout: must be positive")
			}
			l, err := a.lab()
			if err != nil {
				return err
			}
			course, err := check.ForLab(l, a.file)
			if err != nil {
				return badInput("%v", err)
			}
			chapters, err := course.Select(args)
			if err != nil {
				return badInput("%v", err)
			}
			l, s, err := a.readState()
			if err != nil {
				return err
			}
			sel, err := selectClusters(l, s, clusters, attendees)
			if err != nil {
				return err
			}
			e, err := a.engine(l, s)
			if err != nil {
				return err
			}
			defer e.Close()
			targets := check.Targets(s, executors(e, s), sel)
			rows := check.Run(cmd.Context(), targets, chapters, l.SSH.Parallel, timeout)
			var b bytes.Buffer
			if a.jsonOut {
				err = check.WriteJSON(&b, rows, chapters)
			} else {
				err = check.Render(&b, rows, chapters)
			}
			if err != nil {
				return err
			}
			_, err = a.out.Write(a.hideSecrets(b.Bytes(), l, s))
			return err
		},
	}
	cmd.Flags().IntSliceVar(&clusters, "cluster", nil, "cluster numbers (default all)")
	cmd.Flags().IntSliceVar(&attendees, "attendee", nil, "attendee numbers: the clusters that serve them (see labctl swap)")
	cmd.Flags().DurationVar(&timeout, "timeout", check.DefaultTimeout, "how long each cluster has for its checks")
	return cmd
}
