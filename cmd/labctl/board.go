package main

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/board"
	"github.com/labctl/labctl/check"
)

func newBoardCmd(a *app) *cobra.Command {
	var (
		listen string
		r      refresh
	)
	cmd := &cobra.Command{
		Use:   "board [--listen 127.0.0.1:PORT]",
		Short: "Serve the instructor's live page: every cluster's nodes, health, activity and course checks",
		Long: `Serve a read-only web page (on 127.0.0.1 by default) with one row per
attendee cluster: nodes Ready and reachable, health, open sessions, last
activity, DockerCoins' hashing speed and the checks of the chapter picked on
the page, each cell linking to what it saw. The page updates itself without a
reload (server-sent events). Clusters are refreshed in the background, each at
most every --interval and within --timeout (a cluster that hangs is marked),
ssh.parallel at once, over one connection per cluster; opening the page costs
the clusters nothing. Passwords are hidden unless --show-secrets. Ctrl-C stops.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := r.check(); err != nil {
				return err
			}
			if _, _, err := net.SplitHostPort(listen); err != nil {
				return badInput("--listen: %v", err)
			}
			l, err := a.lab()
			if err != nil {
				return err
			}
			course, err := check.ForLab(l, a.file)
			if err != nil {
				return badInput("%v", err)
			}
			l, s, err := a.readState()
			if err != nil {
				return err
			}
			e, err := a.engine(l, s)
			if err != nil {
				return err
			}
			defer e.Close()
			b := board.New(s, course, executors(e, s),
				board.Options{Interval: r.interval, Timeout: r.timeout, Parallel: l.SSH.Parallel, ShowSecrets: a.showSecrets})
			secrets := append(s.Secrets(), l.SSH.Password)
			return b.Serve(cmd.Context(), listen, secrets, func(addr net.Addr) {
				fmt.Fprintf(a.out, "labctl board: http://%s/ (Ctrl-C to stop)\n", addr)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", board.DefaultListen, "address to serve the page on")
	r.flags(f, board.DefaultInterval, board.DefaultTimeout, "least time between two refreshes of a cluster", "how long one refresh of a cluster may take")
	return cmd
}
