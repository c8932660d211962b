package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/artifacts"
	"github.com/labctl/labctl/coins/images"
	coinsphase "github.com/labctl/labctl/coins/phase"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/nodeprep"
	"github.com/labctl/labctl/pipeline"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
)

// phases is the pipeline in order.
var phases = []string{"provision", "nodeprep", "kubeadm", "addons", "coins"}

// available are the phases this version has.
var available = []string{"provision", "nodeprep", "kubeadm", "coins"}

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
			l, store, s, err := a.open("labctl up")
			if err != nil {
				return err
			}
			defer store.Close()
			if s.Provider.Type != "" && s.Provider.Type != l.Provider.Type {
				return badInput("provider.type: this lab was brought up with %s; `labctl destroy` it before switching to %s", s.Provider.Type, l.Provider.Type)
			}
			if l.Kubernetes.CNI == "weave" && (only == "" || only == "kubeadm") {
				// Found out before any node is touched, not after kubeadm init.
				return fmt.Errorf("kubernetes.cni: weave comes with the addons phase, which is %w in this version: set kubernetes.cni: bridge (or none)", errUnavailable)
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
	start time.Time
}

func (u *upRun) save() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.store.Save(u.s)
}

func (u *upRun) run(ctx context.Context, only string) error {
	want := func(p string) bool { return only == "" || only == p }
	u.start = time.Now().UTC()
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
	if u.m.DryRun && only == "provision" {
		return nil
	}
	// New host keys go into the state in memory; phases save it.
	pin := func(h remote.Host, key string) error {
		u.mu.Lock()
		recordHostKey(u.s, h.Name, key)
		u.mu.Unlock()
		return nil
	}
	u.eng, err = engineFor(u.l, u.store.Dir(), u.s, pin)
	if err != nil {
		return err
	}
	defer u.eng.Close()
	exec := func(c int, n string) remote.Executor { return executorFor(u.eng, u.s, c, n) }
	var todo []pipeline.Phase
	// nodeprep's probe reaches every node anyway; on its own, provision
	// checks that the nodes it made can be logged into.
	if !u.m.DryRun && !want("nodeprep") {
		todo = append(todo, &provision.ReachPhase{State: u.s, Exec: exec, Parallel: u.l.SSH.Parallel, Out: u.a.out, Save: u.save})
	}
	if want("nodeprep") {
		np, err := u.nodeprep(ctx)
		if err != nil {
			return err
		}
		np.Skip = u.failed
		todo = append(todo, np)
	}
	if want("kubeadm") {
		todo = append(todo, &nodeprep.ClusterPhase{
			Lab: u.l, State: u.s, Parallel: u.l.SSH.Parallel, Out: u.a.out, Save: u.save,
			Exec: exec, InContainer: u.l.Provider.Type == "local", Skip: u.failed,
		})
	}
	if want("coins") {
		cp, err := u.coins(ctx)
		switch {
		case err == nil:
			todo = append(todo, cp)
		case errors.Is(err, errNoSource) && !u.l.Coins.Enabled && only == "":
			// Preloading is a convenience; a disabled app does not stop the class.
			fmt.Fprintf(u.a.out, "==> coins (skipped: %v)\n", err)
		default:
			return err
		}
	}
	// A failed cluster drops out; the others carry on to the end.
	for _, p := range todo {
		if err := u.m.Run(ctx, p); err != nil && (ctx.Err() != nil || u.healthy() == 0) {
			return u.report(err)
		}
	}
	if err := u.report(nil); err != nil {
		return err
	}
	if only == "" && len(u.l.Addons) > 0 {
		return fmt.Errorf("the clusters are up, but add-ons (%s) are %w in this version: remove them from the lab file's addons", strings.Join(u.l.Addons, ", "), errUnavailable)
	}
	return nil
}

// failed says whether a phase failed on cluster c during this run.
func (u *upRun) failed(c int) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.failedLocked(c)
}

func (u *upRun) failedLocked(c int) bool {
	cl := u.s.Cluster(c)
	for _, r := range cl.Phases {
		if !r.OK && !r.At.Before(u.start) {
			return true
		}
	}
	return false
}

func (u *upRun) healthy() int {
	n := 0
	for _, c := range u.s.Clusters {
		if !u.failed(c.Index) {
			n++
		}
	}
	return n
}

// report prints one line per cluster and returns an error naming the
// clusters that failed, with the phase, host and step.
func (u *upRun) report(cause error) error {
	if u.m.DryRun {
		return cause
	}
	fmt.Fprintln(u.a.out, "==> report")
	var failed []string
	for _, c := range u.s.Clusters {
		line := "ok"
		for _, name := range phases {
			if r, ok := c.Phases[name]; ok && !r.OK && !r.At.Before(u.start) {
				line = fmt.Sprintf("FAILED in %s at %s: %s", name, r.Step, r.Error)
				failed = append(failed, fmt.Sprintf("cluster %02d (%s, %s)", c.Index, name, r.Step))
				break
			}
		}
		if r, ok := c.Phases["reach"]; ok && !r.OK && !r.At.Before(u.start) {
			line = fmt.Sprintf("FAILED: unreachable: %s", r.Error)
			failed = append(failed, fmt.Sprintf("cluster %02d (%s)", c.Index, r.Step))
		}
		fmt.Fprintf(u.a.out, "    cluster %02d: %s\n", c.Index, firstLineOf(line))
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d clusters failed: %s", len(failed), len(u.s.Clusters), strings.Join(failed, "; "))
	}
	return cause
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// nodeprep builds the nodeprep phase, with the artifact cache when nodes
// take Kubernetes from it.
func (u *upRun) nodeprep(ctx context.Context) (*nodeprep.Phase, error) {
	p := &nodeprep.Phase{
		Lab: u.l, State: u.s, Parallel: u.l.SSH.Parallel, Out: u.a.out, Save: u.save,
		Exec:       func(c int, n string) remote.Executor { return executorFor(u.eng, u.s, c, n) },
		PauseImage: "registry.k8s.io/pause:3.10",
	}
	p.SharedKernel = u.l.Provider.Type == "local"
	if u.l.Kubernetes.Source != "cache" {
		p.Downloads = map[string][]nodeprep.Download{}
		for _, arch := range artifacts.ReleaseArches() {
			for _, t := range artifacts.Tools {
				p.Downloads[arch] = append(p.Downloads[arch], nodeprep.Download{Name: t.Name, URL: t.Release(arch), SHA256: t.Checksums[arch], Member: t.Member(arch)})
			}
		}
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
		p.Uploads.Kubernetes = append(p.Uploads.Kubernetes, nodeprep.File{Source: path, SHA256: sum, Dest: "/var/lib/labctl/stage/" + name, Mode: mode})
	}
	toolsDir := ""
	if u.l.Kubernetes.Artifacts != "" {
		toolsDir = filepath.Join(u.l.Kubernetes.Artifacts, "tools")
	}
	tm, err := artifacts.BuildTools(ctx, artifacts.ToolsOptions{CacheDir: toolsDir, Log: indent(u.a.out)})
	if err != nil {
		return nil, fmt.Errorf("tools cache: %w", err)
	}
	for _, a := range tm.Artifacts {
		p.Uploads.Tools = append(p.Uploads.Tools, nodeprep.File{Source: tm.Path(a.Name), SHA256: a.SHA256, Dest: "/var/lib/labctl/stage/" + a.Name, Mode: 0o755})
	}
	return p, nil
}

// coins builds the DockerCoins images (cached by their inputs) and the
// phase that preloads them on every node and, when enabled, deploys them.
func (u *upRun) coins(ctx context.Context) (pipeline.Phase, error) {
	wd, _ := os.Getwd()
	mod, err := images.FindModule(ctx, wd)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoSource, err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return nil, err
	}
	res, err := images.Build(ctx, images.Options{Dir: filepath.Join(cache, "labctl", "dockercoins"), ModuleDir: mod, Log: indent(u.a.out)})
	if err != nil {
		return nil, fmt.Errorf("coins: %w", err)
	}
	var clusters []coinsphase.Cluster
	for _, c := range u.s.Clusters {
		if u.failed(c.Index) {
			continue
		}
		cl := coinsphase.Cluster{Name: fmt.Sprintf("cluster %02d", c.Index)}
		for _, n := range c.Nodes {
			cl.Nodes = append(cl.Nodes, executorFor(u.eng, u.s, c.Index, n.Name))
		}
		clusters = append(clusters, cl)
	}
	p, err := coinsphase.New(coinsphase.Config{Clusters: clusters, Archive: res.Archive, Deploy: u.l.Coins.Enabled,
		Namespace: u.l.Coins.Namespace, Parallel: u.l.SSH.Parallel, Out: u.a.out})
	if err != nil {
		return nil, err
	}
	return &recorded{Phase: p, name: "coins", u: u}, nil
}

// errNoSource: the DockerCoins images are built from labctl's source tree.
var errNoSource = errors.New("the DockerCoins images are built from labctl's source tree; run labctl from its checkout")

// recorded runs a phase that does not know the lab state and records its
// outcome per cluster: a cluster fails when the error names one of its
// nodes or the cluster itself.
type recorded struct {
	pipeline.Phase
	name string
	u    *upRun
}

func (r *recorded) Run(ctx context.Context) error {
	err := r.Phase.Run(ctx)
	now := time.Now().UTC()
	r.u.mu.Lock()
	for i := range r.u.s.Clusters {
		c := &r.u.s.Clusters[i]
		if r.u.failedLocked(c.Index) {
			continue
		}
		res := lab.PhaseResult{OK: true, At: now}
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if strings.Contains(line, fmt.Sprintf("%02d/node", c.Index)) || strings.Contains(line, fmt.Sprintf("cluster %02d", c.Index)) {
					res = lab.PhaseResult{OK: false, At: now, Step: r.name, Error: strings.TrimSpace(line)}
					break
				}
			}
		}
		c.SetPhase(r.name, res)
	}
	r.u.mu.Unlock()
	if serr := r.u.save(); serr != nil && err == nil {
		err = serr
	}
	return err
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
