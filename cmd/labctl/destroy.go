package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/reset"
)

func newDestroyCmd(a *app) *cobra.Command {
	var yes bool
	var clusters []int
	cmd := &cobra.Command{
		Use:   "destroy",
		Short: "Remove the lab's nodes (containers, VMs) and forget its state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := a.lab()
			if err != nil {
				return err
			}
			check := func(s *lab.State) (what string, err error) {
				for _, n := range clusters {
					if s.Cluster(n) == nil {
						return "", badInput("--cluster: lab %s has no cluster %d", l.Name, n)
					}
				}
				what = fmt.Sprintf("every cluster of lab %s (%d)", l.Name, len(s.Clusters))
				if len(clusters) > 0 {
					what = fmt.Sprintf("clusters %v of lab %s", clusters, l.Name)
				}
				if !yes && !term.IsTerminal(int(os.Stdin.Fd())) {
					return "", badInput("destroy removes %s: pass --yes to confirm", what)
				}
				return what, nil
			}
			if err := a.precheck(l, func(s *lab.State) error { _, err := check(s); return err }); err != nil {
				return err
			}
			l, store, s, err := a.openStore(l, "labctl destroy", lab.Open)
			if err != nil {
				return err
			}
			defer store.Close()
			what, err := check(s)
			if err != nil {
				return err
			}
			if !yes {
				fmt.Fprintf(a.out, "This removes %s. Type the lab name to confirm: ", what)
				answer, _ := bufio.NewReader(os.Stdin).ReadString('\n')
				if strings.TrimSpace(answer) != l.Name {
					return badInput("not confirmed; nothing removed")
				}
			}
			prov, err := providerFor(l)
			if err != nil {
				return err
			}
			req := provision.Request{Lab: l, StateDir: store.Dir(), State: s, Out: a.out, Clusters: clusters}
			if c, ok := prov.(provision.Checker); ok {
				if err := c.Check(cmd.Context(), req); err != nil {
					return usageError{err}
				}
			}
			if err := prov.Destroy(cmd.Context(), req); err != nil {
				return err
			}
			if len(clusters) > 0 {
				kept := s.Clusters[:0]
				for _, c := range s.Clusters {
					if !containsInt(clusters, c.Index) {
						kept = append(kept, c)
					}
				}
				s.Clusters = kept
				for _, n := range clusters {
					if err := os.Remove(reset.Path(store.Dir(), n)); err != nil && !os.IsNotExist(err) {
						return err
					}
				}
				a.printf("removed %s\n", what)
				return store.Save(s)
			}
			// The whole lab is gone: so are its passwords, host keys,
			// baselines, logs and SSH key.
			if err := store.Forget(); err != nil {
				return err
			}
			a.printf("removed %s\n", what)
			return nil
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation")
	cmd.Flags().IntSliceVar(&clusters, "cluster", nil, "remove only these clusters")
	return cmd
}

func newTrustCmd(a *app) *cobra.Command {
	var cluster int
	var node string
	var bastion bool
	cmd := &cobra.Command{
		Use:   "trust (--cluster N --node nodeX | --bastion)",
		Short: "Forget a node's (or the bastion's) pinned host key, to accept a rebuilt host's new key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if bastion == (cluster != 0 || node != "") || (!bastion && (cluster == 0 || node == "")) {
				return badInput("trust: give --cluster and --node, or --bastion")
			}
			l, err := a.lab()
			if err != nil {
				return err
			}
			check := func(s *lab.State) error {
				if bastion {
					if l.SSH.Bastion != nil && l.SSH.Bastion.HostKey != "" {
						return badInput("ssh.bastion.hostKey: the bastion's key is pinned by the lab file; change it there")
					}
					if s.Bastion == nil {
						return badInput("--bastion: lab %s has no pinned bastion key", l.Name)
					}
					return nil
				}
				c := s.Cluster(cluster)
				if c == nil {
					return badInput("--cluster: lab %s has no cluster %d", l.Name, cluster)
				}
				if c.Node(node) == nil {
					return badInput("--node: cluster %d has no node %q", cluster, node)
				}
				return nil
			}
			if err := a.precheck(l, check); err != nil {
				return err
			}
			l, store, s, err := a.openStore(l, "labctl trust", lab.Open)
			if err != nil {
				return err
			}
			defer store.Close()
			if err := check(s); err != nil {
				return err
			}
			if bastion {
				s.Bastion = nil
				if err := store.Save(s); err != nil {
					return err
				}
				a.printf("forgot the bastion's host key; the key it offers next is recorded\n")
				return nil
			}
			s.Cluster(cluster).Node(node).HostKey = ""
			if err := store.Save(s); err != nil {
				return err
			}
			a.printf("forgot the host key of %02d/%s; the key it offers next is recorded (`labctl up` reads it from the provider)\n", cluster, node)
			return nil
		},
	}
	cmd.Flags().IntVar(&cluster, "cluster", 0, "cluster number")
	cmd.Flags().StringVar(&node, "node", "", "node name")
	cmd.Flags().BoolVar(&bastion, "bastion", false, "forget the bastion's key (ssh.bastion)")
	return cmd
}
