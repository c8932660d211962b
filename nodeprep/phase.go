package nodeprep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/labctl/labctl/coins/mirror"
	"github.com/labctl/labctl/internal/fan"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// Phase prepares every node of every cluster.
type Phase struct {
	phase.Context
	// Uploads come from labctl's caches (Source "cache").
	Uploads    Uploads
	PauseImage string
	// Downloads are the tools' release archives (Source "packages").
	Downloads map[string][]Download
	// SharedKernel: nodes are containers on one host (local provider).
	SharedKernel bool

	mu sync.Mutex
}

func (p *Phase) Title() string { return "nodeprep" }

// nodeWork is one node's steps, plan and outcome.
type nodeWork struct {
	phase.Target
	steps []Step
	todo  []Step
	// probeErr and applyErr are the node's failures, by stage.
	probeErr, applyErr error
}

// DryRun probes and prints what would run.
func (p *Phase) DryRun(ctx context.Context, w io.Writer) error {
	work, err := p.probe(ctx)
	p.printPlan(w, work)
	return err
}

func (p *Phase) Run(ctx context.Context) error {
	work, probeErr := p.probe(ctx)
	p.printPlan(p.Out, work)
	var busy []*nodeWork
	for _, w := range work {
		if len(w.todo) > 0 {
			busy = append(busy, w)
		}
	}
	errs := fan.Each(ctx, len(busy), parallelOr(p.Parallel), func(ctx context.Context, i int) error {
		return p.apply(ctx, busy[i])
	})
	for i, w := range busy {
		w.applyErr = errs[i]
	}
	err := errors.Join(probeErr, hostErrors(busy, func(w *nodeWork) error { return w.applyErr }))
	p.record(work)
	if serr := p.Save(); serr != nil {
		return errors.Join(err, serr)
	}
	return err
}

// work builds each node's steps, for the clusters not skipped.
func (p *Phase) work() ([]*nodeWork, error) {
	if err := p.ensureKeys(); err != nil {
		return nil, err
	}
	var work []*nodeWork
	for ci := range p.State.Clusters {
		c := &p.State.Clusters[ci]
		if p.Skipped(c.Index) {
			continue
		}
		for _, n := range c.Nodes {
			steps, err := Steps(p.nodeData(c, n), p.Uploads)
			if err != nil {
				return nil, err
			}
			work = append(work, &nodeWork{Target: p.Target(c.Index, n.Name), steps: steps})
		}
	}
	return work, nil
}

// Probes is each node's probe, by node label, for the run's probe round.
func (p *Phase) Probes() (map[string][]string, error) {
	work, err := p.work()
	if err != nil {
		return nil, err
	}
	probes := map[string][]string{}
	for _, w := range work {
		probes[w.Name()] = []string{probeScript(w.steps)}
	}
	return probes, nil
}

// probe asks every node which of its steps are done.
func (p *Phase) probe(ctx context.Context) ([]*nodeWork, error) {
	work, err := p.work()
	if err != nil {
		return nil, err
	}
	errs := fan.Each(ctx, len(work), parallelOr(p.Parallel), func(ctx context.Context, i int) error {
		w := work[i]
		x := w.Target
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		var out remote.Result
		err := remote.RetryLost(ctx, phase.StepAttempts, p.retrying(x.Name(), "probe"), func(ctx context.Context) (err error) {
			out, err = x.Run(ctx, remote.Command{Line: probeScript(w.steps)})
			return err
		})
		if err != nil {
			w.todo = nil
			return phase.Fail(x.NodeRef, "probe", err)
		}
		facts, err := parseProbe(string(out.Stdout))
		if err != nil {
			return phase.Fail(x.NodeRef, "probe", err)
		}
		w.todo = plan(w.steps, facts)
		return nil
	})
	for i, w := range work {
		w.probeErr = errs[i]
	}
	// Unreachable nodes stay in the list with nothing to do: their cluster
	// fails, the others go on.
	return work, hostErrors(work, func(w *nodeWork) error { return w.probeErr })
}

func (p *Phase) printPlan(w io.Writer, work []*nodeWork) {
	busy := 0
	for _, nw := range work {
		if len(nw.todo) == 0 {
			continue
		}
		busy++
		names := make([]string, len(nw.todo))
		for i, s := range nw.todo {
			names[i] = s.Name
		}
		fmt.Fprintf(w, "    %s: %s\n", nw.Name(), strings.Join(names, ", "))
	}
	fmt.Fprintf(w, "    %d of %d nodes need work\n", busy, len(work))
}

// apply runs a node's planned steps in order and records each success.
// Steps are idempotent: one whose connection was lost runs again.
func (p *Phase) apply(ctx context.Context, w *nodeWork) error {
	for _, s := range w.todo {
		start := time.Now()
		err := remote.RetryLost(ctx, phase.StepAttempts, p.retrying(w.Name(), s.Name), func(ctx context.Context) error {
			return p.runStep(ctx, w.Target, s)
		})
		if err != nil {
			return phase.Fail(w.NodeRef, s.Name, err)
		}
		p.mu.Lock()
		fmt.Fprintf(p.Out, "    %s: %s done in %s\n", w.Name(), s.Name, time.Since(start).Round(100*time.Millisecond))
		p.mu.Unlock()
	}
	return nil
}

func (p *Phase) runStep(ctx context.Context, x remote.Executor, s Step) error {
	for _, f := range s.Files {
		r, err := os.Open(f.Source)
		if err != nil {
			return fmt.Errorf("artifact %s: %w", f.Source, err)
		}
		err = x.Upload(ctx, r, f.Dest, os.FileMode(f.Mode))
		r.Close()
		if err != nil {
			return err
		}
	}
	script := "mkdir -p " + StepDir + "\n" + s.Script + "\necho " + s.Digest() + " > " + StepDir + "/" + s.Name + "\n"
	_, err := x.Run(ctx, remote.Command{Line: "bash -euo pipefail -s", Stdin: strings.NewReader(script), Secrets: s.Secrets})
	return err
}

// retrying tells the user that a step runs again after a lost connection.
func (p *Phase) retrying(host, step string) func(int, error) {
	return func(n int, err error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		fmt.Fprintf(p.Out, "    %s: step %s: connection lost; running it again (attempt %d of %d)\n", host, step, n, phase.StepAttempts)
	}
}

// hostErrors is the nodes' errors, each listed, as remote.Each gives them.
func hostErrors(work []*nodeWork, err func(*nodeWork) error) error {
	res := make(remote.Results, len(work))
	for i, w := range work {
		res[i] = remote.HostResult{Host: w.Name(), Err: err(w)}
	}
	return res.Err()
}

// parallelOr is parallel, or remote's default when unset.
func parallelOr(parallel int) int {
	if parallel < 1 {
		return remote.DefaultParallel
	}
	return parallel
}

// record writes each cluster's outcome into the state: a cluster failed
// with its first node that did (probes first, then steps), naming that
// node and step. A node cut short by the run's end does not fail it.
func (p *Phase) record(work []*nodeWork) {
	failed := map[int]error{}
	for _, stage := range []func(*nodeWork) error{
		func(w *nodeWork) error { return w.probeErr },
		func(w *nodeWork) error { return w.applyErr },
	} {
		for _, w := range work {
			err := stage(w)
			var se *phase.StepError
			if err == nil || failed[w.Cluster] != nil || !errors.As(err, &se) && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
				continue
			}
			failed[w.Cluster] = err
		}
	}
	for _, c := range p.Clusters() {
		o := phase.Outcome{Cluster: c.Index, Phase: "nodeprep", Err: failed[c.Index]}
		var se *phase.StepError
		if errors.As(o.Err, &se) {
			o.Step = se.Where()
		}
		p.Done(o)
	}
}

// ensureKeys gives each cluster its intra-cluster SSH key pair.
func (p *Phase) ensureKeys() error {
	changed := false
	for i := range p.State.Clusters {
		c := &p.State.Clusters[i]
		if c.Key != nil {
			continue
		}
		k, err := lab.NewKeyPair(fmt.Sprintf("%s@cluster%02d", p.Lab.Login.User, c.Index))
		if err != nil {
			return err
		}
		c.Key = &k
		changed = true
	}
	if changed {
		return p.Save()
	}
	return nil
}

func (p *Phase) nodeData(c *lab.Cluster, n lab.Node) NodeData {
	hosts := make([]Host, 0, len(c.Nodes))
	for _, h := range c.Nodes {
		hosts = append(hosts, Host{Name: h.Name, IP: h.PrivateAddress, HostKey: h.HostKey})
	}
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].Name < hosts[j].Name })
	pkgs := append([]string{}, BasePackages...)
	if p.Lab.Nodes.DockerEnabled() {
		pkgs = append(pkgs, DockerPackages...)
	}
	if p.Lab.Kubernetes.Source == "cache" {
		pkgs = append(pkgs, KubectxPackage)
	}
	pkgs = append(pkgs, p.Lab.Nodes.Packages...)
	v := p.Lab.Kubernetes.Version
	var wt *WebTerm
	if len(c.Nodes) > 0 && n.Name == c.Nodes[0].Name {
		wt = &WebTerm{Enabled: p.Lab.WebTermEnabled(), Port: p.Lab.WebTerm.Port, TLS: p.Lab.WebTerm.TLS.Cert != "",
			User: WebTermUser, AssetDir: WebTermAssets}
	}
	return NodeData{
		Cluster: c.Index, Node: n.Name, PublicIP: n.PublicAddress, Hosts: hosts,
		User: c.Login.User, Password: c.Login.Password, PrivateKey: c.Key.Private, PublicKey: c.Key.Public,
		MaxAuthTries: 20, Packages: pkgs,
		Version: v, Minor: v[:strings.LastIndex(v, ".")], Source: p.Lab.Kubernetes.Source,
		Stage: "/var/lib/labctl/stage", PauseImage: p.PauseImage, PodSubnet: p.Lab.Kubernetes.PodSubnet, Mirror: mirror.Addr,
		PortworxSize: p.Lab.Nodes.PortworxSize, LoopDevice: "/dev/loop4", SharedKernel: p.SharedKernel,
		Docker:    p.Lab.Nodes.DockerEnabled(),
		Downloads: p.Downloads,
		WebTerm:   wt,
	}
}
