package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/pipeline"
	"github.com/labctl/labctl/remote"
)

// maxGrace bounds --grace: past an hour a reset only looks hung.
const maxGrace = time.Hour

func newResetCmd(a *app) *cobra.Command {
	var clusters []int
	var level string
	var yes, dryRun, newPasswords bool
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "reset",
		Short: "Put clusters back to the baseline their last up recorded",
		Long: `Put clusters back to the state the last successful labctl up recorded
(the baseline), for the next session on the same machines.

--level soft (the default) keeps the control plane: it deletes what attendees
added (namespaces, cluster-scoped objects, CRDs and their objects, webhooks,
PVs...), re-creates or restores what they deleted or changed among labctl's
and kubeadm's own objects, puts node labels, taints and schedulability back,
and on every node stops the attendee's processes, restores their home
directory, empties Docker, removes images nobody preloaded and cleans /tmp.
Then the health checks of up must pass. An object a finalizer still holds
after --grace has its finalizers removed, and the output says so.

--dry-run lists what would be deleted and restored per cluster.

A spare that labctl swap left marked "needs reset" is handed out again once
a reset of it succeeds (--level hard --new-passwords gives it a password
the attendee who left it does not know).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch level {
			case "soft", "hard":
			default:
				return badInput("--level: %q is not soft or hard", level)
			}
			if grace < 0 || grace > maxGrace {
				return badInput("--grace: %s is out of range (0s to %s)", grace, maxGrace)
			}
			for _, c := range clusters {
				if c < 1 {
					return badInput("--cluster: %d is not a cluster number (1, 2, ...)", c)
				}
			}
			l, err := a.lab()
			if err != nil {
				return err
			}
			if err := a.precheck(l, func(s *lab.State) error {
				_, err := (&pipeline.Reset{State: s, Clusters: clusters}).Selected()
				return err
			}); err != nil {
				return err
			}
			open := lab.Open
			if dryRun {
				open = lab.OpenDryRun
			}
			l, store, s, err := a.openStore(l, "labctl reset", open)
			if err != nil {
				return err
			}
			defer store.Close()
			wd, _ := os.Getwd()
			r := &pipeline.Reset{
				Lab: l, State: s, Store: store, Out: a.out, Clusters: clusters, DryRun: dryRun,
				Grace: grace, HealthTimeout: 4 * time.Minute, Hard: level == "hard", SourceDir: wd, NewPasswords: newPasswords,
				Engine: func(pin func(remote.Host, string) error) (*remote.Engine, error) {
					return engineFor(l, store.Dir(), s, pin)
				},
			}
			sel, err := r.Selected()
			if err != nil {
				return usageError{err}
			}
			if !yes && !dryRun {
				what := fmt.Sprintf("%d clusters of lab %s", len(sel), l.Name)
				if len(clusters) > 0 {
					what = fmt.Sprintf("clusters %v of lab %s", clusters, l.Name)
				}
				if !term.IsTerminal(int(os.Stdin.Fd())) {
					return badInput("reset removes everything attendees made on %s: pass --yes to confirm", what)
				}
				fmt.Fprintf(a.out, "This removes everything attendees made on %s. Type the lab name to confirm: ", what)
				answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
				if strings.TrimSpace(answer) != l.Name {
					return badInput("not confirmed; nothing changed")
				}
			}
			return r.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.IntSliceVar(&clusters, "cluster", nil, "clusters to reset (default all); repeat or separate with commas")
	f.StringVar(&level, "level", "soft", "soft (keep the control plane) | hard (kubeadm reset, then rebuild)")
	f.BoolVar(&yes, "yes", false, "do not ask for confirmation")
	f.BoolVar(&dryRun, "dry-run", false, "list what would be removed and restored per cluster, change nothing")
	f.BoolVar(&newPasswords, "new-passwords", false, "rotate the attendees' passwords and intra-cluster SSH key (then labctl cards prints the new cards)")
	f.DurationVar(&grace, "grace", 45*time.Second, "how long deleted objects get before their finalizers are removed")
	return cmd
}
