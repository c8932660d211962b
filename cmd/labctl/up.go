package main

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/artifacts"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/nodeprep"
	"github.com/labctl/labctl/pipeline"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
)

// phases is the pipeline in order.
var phases = []string{"provision", "nodeprep", "kubeadm", "addons", "coins"}

// available are the phases this version has.
var available = []string{"provision", "nodeprep", "kubeadm"}

func newUpCmd(a *app) *cobra.Command {
	var only string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Converge the lab: provision nodes, prepare them, build the clusters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if only != "" && !contains(phases, only) {
				return badInput("--only: %q is not one of %s", only, strings.Join(phases, ", "))
			}
			if only != "" && !contains(available, only) {
				return fmt.Errorf("the %s phase is %w in this version", only, errUnavailable)
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
			u := &upRun{a: a, l: l, s: s, store: store, m: &pipeline.Manager{Out: a.out, DryRun: dryRun}}
			return u.run(cmd.Context(), only)
		},
	}
	cmd.Flags().StringVar(&only, "only", "", "run one phase: "+strings.Join(phases, ", "))
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan, change nothing")
	return cmd
}

// upRun is one `labctl up`: the lab, its locked state, and the engine.
type upRun struct {
	a     *app
	l     *lab.Lab
	s     *lab.State
	store *lab.Store
	m     *pipeline.Manager
	mu    sync.Mutex
	eng   *remote.Engine
}

func (u *upRun) save() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.store.Save(u.s)
}

func (u *upRun) run(ctx context.Context, only string) error {
	want := func(p string) bool { return only == "" || only == p }
	prov, err := providerFor(u.l)
	if err != nil {
		return err
	}
	req := provision.Request{Lab: u.l, StateDir: u.store.Dir(), State: u.s, Out: u.a.out}
	if want("provision") {
		if err := u.m.Run(ctx, &provision.Phase{Provider: prov, Request: req, Save: u.save}); err != nil {
			return err
		}
	}
	if len(u.s.Clusters) == 0 {
		return fmt.Errorf("no nodes yet: run `labctl up` (or --only provision) first")
	}
	if u.m.DryRun && want("provision") && only != "" {
		return nil
	}
	pin := func(h remote.Host, key string) error {
		u.mu.Lock()
		recordHostKey(u.s, h.Name, key)
		u.mu.Unlock()
		return u.save()
	}
	u.eng, err = engineFor(u.l, u.store.Dir(), u.s, pin)
	if err != nil {
		return err
	}
	defer u.eng.Close()
	if !u.m.DryRun {
		reach := &provision.ReachPhase{State: u.s, Hosts: allHosts(u.eng, u.s, nil, ""), Parallel: u.l.SSH.Parallel, Out: u.a.out}
		if err := u.m.Run(ctx, reach); err != nil {
			return err
		}
	}
	if want("nodeprep") {
		np, err := u.nodeprep(ctx)
		if err != nil {
			return err
		}
		if err := u.m.Run(ctx, np); err != nil {
			return err
		}
	}
	if want("kubeadm") {
		kp := &nodeprep.ClusterPhase{
			Lab: u.l, State: u.s, Parallel: u.l.SSH.Parallel, Out: u.a.out, Save: u.save,
			Exec:        func(c int, n string) remote.Executor { return executorFor(u.eng, u.s, c, n) },
			InContainer: u.l.Provider.Type == "local",
		}
		if err := u.m.Run(ctx, kp); err != nil {
			return err
		}
	}
	if only == "" && len(u.l.Addons) > 0 {
		return fmt.Errorf("the clusters are up, but add-ons (%s) are %w in this version: remove them from the lab file's addons", strings.Join(u.l.Addons, ", "), errUnavailable)
	}
	return nil
}

// nodeprep builds the nodeprep phase, with the artifact cache when nodes
// take Kubernetes from it.
func (u *upRun) nodeprep(ctx context.Context) (*nodeprep.Phase, error) {
	p := &nodeprep.Phase{
		Lab: u.l, State: u.s, Parallel: u.l.SSH.Parallel, Out: u.a.out, Save: u.save,
		Exec: func(c int, n string) remote.Executor { return executorFor(u.eng, u.s, c, n) },
		PauseImage: "registry.k8s.io/pause:3.10",
	}
	p.SharedKernel = u.l.Provider.Type == "local"
	if u.l.Kubernetes.Source != "cache" {
		return p, nil
	}
	fmt.Fprintf(u.a.out, "==> artifact cache for Kubernetes %s (built once per version; the first build takes a while)\n", u.l.Kubernetes.Version)
	m, err := artifacts.Build(ctx, artifacts.Options{KubernetesVersion: u.l.Kubernetes.Version, CacheDir: u.l.Kubernetes.Artifacts, Log: indent(u.a.out)})
	if err != nil {
		return nil, fmt.Errorf("artifact cache: %w", err)
	}
	for _, img := range m.Images {
		if strings.Contains(img, "/pause:") {
			p.PauseImage = img
		}
	}
	for _, name := range []string{"kubeadm", "kubelet", "kubectl", "images.tar"} {
		path := m.Path(name)
		if path == "" {
			return nil, fmt.Errorf("artifact cache %s has no %s", m.Dir, name)
		}
		mode := uint32(0o755)
		if name == "images.tar" {
			mode = 0o644
		}
		var sum string
		for _, art := range m.Artifacts {
			if art.Name == name {
				sum = art.SHA256
			}
		}
		p.KubeFiles = append(p.KubeFiles, nodeprep.File{Source: path, SHA256: sum, Dest: "/var/lib/labctl/stage/" + name, Mode: mode})
	}
	return p, nil
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
