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
	return &cobra.Command{
		Use:   "ssh CLUSTER [NODE]",
		Short: "Open a shell on a node (node1 by default), with the lab's pinned host key",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil {
				return badInput("CLUSTER: %q is not a number", args[0])
			}
			node := "node1"
			if len(args) == 2 {
				node = args[1]
			}
			l, s, err := a.readState()
			if err != nil {
				return err
			}
			c := s.Cluster(n)
			if c == nil {
				return badInput("CLUSTER: lab %s has no cluster %d", l.Name, n)
			}
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
}
