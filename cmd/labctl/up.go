package main

import (
	"fmt"
	"sync"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/pipeline"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
)

// phases is the pipeline in order; later ones arrive with their issues.
var phases = []string{"provision", "nodeprep", "kubeadm", "addons", "coins"}

func newUpCmd(a *app) *cobra.Command {
	var only string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Converge the lab: provision nodes, prepare them, build the clusters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if only != "" && !contains(phases, only) {
				return badInput("--only: %q is not one of %v", only, phases)
			}
			l, store, err := a.open("labctl up")
			if err != nil {
				return err
			}
			defer store.Close()
			s, err := store.Load()
			if err != nil {
				return err
			}
			if s.Provider.Type != "" && s.Provider.Type != l.Provider.Type {
				return badInput("provider.type: this lab was brought up with %s; `labctl destroy` it before switching to %s", s.Provider.Type, l.Provider.Type)
			}
			prov, err := providerFor(l)
			if err != nil {
				return err
			}
			var mu sync.Mutex
			save := func() error {
				mu.Lock()
				defer mu.Unlock()
				return store.Save(s)
			}
			req := provision.Request{Lab: l, StateDir: store.Dir(), State: s, Out: a.out}
			m := &pipeline.Manager{Out: a.out, DryRun: dryRun}
			run := []pipeline.Phase{}
			if only == "" || only == "provision" {
				run = append(run, &provision.Phase{Provider: prov, Request: req, Save: save})
			}
			if err := m.Run(cmd.Context(), run...); err != nil {
				return err
			}
			if dryRun {
				return nil
			}
			pin := func(h remote.Host, key string) error {
				mu.Lock()
				recordHostKey(s, h.Name, key)
				mu.Unlock()
				return save()
			}
			eng, err := engineFor(l, store.Dir(), s, pin)
			if err != nil {
				return err
			}
			defer eng.Close()
			reach := &provision.ReachPhase{State: s, Hosts: allHosts(eng, s, nil, ""), Parallel: l.SSH.Parallel, Out: a.out}
			if err := m.Run(cmd.Context(), reach); err != nil {
				return err
			}
			if only == "" || (only != "provision") {
				return fmt.Errorf("nodes are up and reachable, but the nodeprep, kubeadm, addons and coins phases are %w in this version", errUnavailable)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&only, "only", "", "run one phase: provision, nodeprep, kubeadm, addons, coins")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan, change nothing")
	return cmd
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
			xs = append(xs, e.Host(hostFor(c, n)))
		}
	}
	return xs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}
