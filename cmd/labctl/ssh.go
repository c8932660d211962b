package main

import (
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
)

func newSSHCmd(a *app) *cobra.Command {
	var attendee int
	cmd := &cobra.Command{
		Use:   "ssh {CLUSTER | --attendee N} [NODE]",
		Short: "Open a shell on a node (node1 by default), with the lab's pinned host key",
		Long: `Open a shell as labctl's own login on a node of cluster CLUSTER (node1 by
default), checking the host key the lab pinned.

CLUSTER is the cluster's number, as in the node names and labctl destroy,
stop and reset. --attendee N opens the cluster that serves attendee N
instead: the same one in a lab without spares; after labctl swap, the spare
they moved to. In a lab with spares, a line on stderr says whom the cluster
serves ("labctl: attendee 01 → cluster 03", "labctl: spare cluster 02").`,
		Args: func(cmd *cobra.Command, args []string) error {
			check := cobra.RangeArgs(1, 2)
			if cmd.Flags().Changed("attendee") {
				check = cobra.MaximumNArgs(1)
			}
			if err := check(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			byAttendee := cmd.Flags().Changed("attendee")
			n := 0
			if !byAttendee {
				var err error
				if n, err = strconv.Atoi(args[0]); err != nil {
					return badInput("CLUSTER: %q is not a number", args[0])
				}
				args = args[1:]
			}
			node := "node1"
			if len(args) == 1 {
				node = args[0]
			}
			l, s, err := a.readState()
			if err != nil {
				return err
			}
			if byAttendee {
				c, ok := s.ClusterFor(attendee)
				if !ok || s.Cluster(c) == nil {
					return badInput("--attendee: lab %s has no attendee %d", l.Name, attendee)
				}
				n = c
			}
			c := s.Cluster(n)
			if c == nil {
				return badInput("CLUSTER: lab %s has no cluster %d", l.Name, n)
			}
			a.noteRoles(s, []int{n})
			nd := c.Node(node)
			if nd == nil {
				return badInput("NODE: cluster %d has no node %q", n, node)
			}
			eng, flush, err := a.engineWithFlush(l, s)
			if err != nil {
				return err
			}
			defer eng.Close()
			defer flush()
			t := remote.Terminal{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
			fd := int(os.Stdin.Fd())
			if term.IsTerminal(fd) {
				t.Term = os.Getenv("TERM")
				if t.Term == "" {
					t.Term = "xterm-256color"
				}
				t.Width, t.Height, _ = term.GetSize(fd)
				old, err := term.MakeRaw(fd)
				if err != nil {
					return err
				}
				defer term.Restore(fd, old)
				resize := make(chan [2]int, 1)
				sig := make(chan os.Signal, 1)
				signal.Notify(sig, syscall.SIGWINCH)
				defer signal.Stop(sig)
				go func() {
					for range sig {
						if w, h, err := term.GetSize(fd); err == nil {
							resize <- [2]int{w, h}
						}
					}
				}()
				t.Resize = resize
			}
			return eng.Shell(cmd.Context(), provision.HostFor(c, nd), t)
		},
	}
	cmd.Flags().IntVar(&attendee, "attendee", 0, "the cluster that serves attendee N (see labctl swap), instead of CLUSTER")
	return cmd
}
