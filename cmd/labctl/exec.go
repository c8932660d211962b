package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
)

func newExecCmd(a *app) *cobra.Command {
	var clusters, attendees []int
	var node string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "exec [--cluster N | --attendee N] [--node nodeX] -- COMMAND",
		Short: "Run a command on nodes in parallel, output prefixed by cluster and node",
		Long: `Run COMMAND on the selected nodes in parallel, each line of output prefixed
by the node's cluster and name ([03/node1]), then one summary line per node.

--cluster N is cluster N (the number in the node names and in labctl stop,
destroy and reset). --attendee N is the cluster that serves attendee N: the
same cluster in a lab without spares; after labctl swap, the spare they
moved to (the line "attendee 01 → cluster 03" on stderr says which).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkDuration("--timeout", timeout, 24*time.Hour); err != nil {
				return err
			}
			l, s, err := a.readState()
			if err != nil {
				return err
			}
			sel, err := selectClusters(l, s, clusters, attendees)
			if err != nil {
				return err
			}
			if len(attendees) > 0 {
				a.noteRoles(s, sel)
			}
			if node != "" && (len(s.Clusters) == 0 || s.Clusters[0].Node(node) == nil) {
				return badInput("--node: lab %s has no node %q", l.Name, node)
			}
			eng, flush, err := a.engineWithFlush(l, s)
			if err != nil {
				return err
			}
			defer eng.Close()
			defer flush()
			hosts := allHosts(eng, s, sel, node)
			line := strings.Join(args, " ")
			var outMu sync.Mutex
			res := remote.Each(cmd.Context(), hosts, l.SSH.Parallel, func(ctx context.Context, x remote.Executor) error {
				if timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, timeout)
					defer cancel()
				}
				prefix := "[" + x.Name() + "] "
				stdout := &remote.PrefixWriter{Mu: &outMu, W: a.out, Prefix: prefix}
				stderr := &remote.PrefixWriter{Mu: &outMu, W: a.errOut, Prefix: prefix}
				_, err := x.Run(ctx, remote.Command{Line: line, Stdout: stdout, Stderr: stderr})
				stdout.Flush()
				stderr.Flush()
				return err
			})
			printSummary(a.out, res, a.verbose)
			if n := res.Failed(); n > 0 {
				// The summary above says which and why.
				return fmt.Errorf("%d of %d hosts failed", n, len(res))
			}
			return nil
		},
	}
	cmd.Flags().IntSliceVar(&clusters, "cluster", nil, "cluster numbers (default all)")
	cmd.Flags().IntSliceVar(&attendees, "attendee", nil, "attendee numbers: the clusters that serve them (see labctl swap)")
	cmd.Flags().StringVar(&node, "node", "", "node name, e.g. node1 (default all)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "stop the command on a host after this long")
	return cmd
}

// listAll is how many hosts a summary lists one by one, ok or not; above
// it, only the failed ones unless verbose.
const listAll = 20

// printSummary prints one line per host (above listAll hosts, per failed
// host unless verbose): ok, or failed with the reason.
func printSummary(w io.Writer, res remote.Results, verbose bool) {
	fmt.Fprintf(w, "---- %d ok, %d failed\n", len(res)-res.Failed(), res.Failed())
	all := verbose || len(res) <= listAll
	for _, r := range res {
		if r.Err == nil {
			if all {
				fmt.Fprintf(w, "%-10s ok      %s\n", r.Host, r.Duration.Round(time.Millisecond))
			}
			continue
		}
		var ee *remote.ExitError
		reason := r.Err.Error()
		if errors.As(r.Err, &ee) {
			reason = fmt.Sprintf("exit %d", ee.ExitCode)
		}
		fmt.Fprintf(w, "%-10s FAILED  %s\n", r.Host, remote.EscapeLine(strings.TrimPrefix(reason, r.Host+": ")))
	}
}

// allHosts lists the executors of the selected clusters (all when empty)
// and node (all when "").
func allHosts(e *remote.Engine, s *lab.State, clusters []int, node string) []remote.Executor {
	var xs []remote.Executor
	for ci := range s.Clusters {
		c := &s.Clusters[ci]
		if len(clusters) > 0 && !containsInt(clusters, c.Index) {
			continue
		}
		for ni := range c.Nodes {
			n := &c.Nodes[ni]
			if node != "" && n.Name != node {
				continue
			}
			xs = append(xs, e.Host(provision.HostFor(c, n)))
		}
	}
	return xs
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}
