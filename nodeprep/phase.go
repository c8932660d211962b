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
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// Phase prepares every node of every cluster.
type Phase struct {
	Lab   *lab.Lab
	State *lab.State
	// Exec returns the executor of a node.
	Exec     func(cluster int, node string) remote.Executor
	Parallel int
	Out      io.Writer
	Save     func() error
	// Uploads come from labctl's caches (Source "cache").
	Uploads    Uploads
	PauseImage string
	// Downloads are the tools' release archives (Source "packages").
	Downloads map[string][]Download
	// SharedKernel: nodes are containers on one host (local provider).
	SharedKernel bool
	// Skip leaves out clusters that already failed in this run.
	Skip func(cluster int) bool

	mu sync.Mutex
}

func (p *Phase) Title() string { return "nodeprep" }

// nodeWork is one node's steps and plan.
type nodeWork struct {
	cluster int
	node    string
	x       remote.Executor
	steps   []Step
	todo    []Step
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
	var xs []remote.Executor
	byName := map[string]*nodeWork{}
	for _, w := range work {
		if len(w.todo) > 0 {
			xs = append(xs, w.x)
			byName[w.x.Name()] = w
		}
	}
	res := remote.Each(ctx, xs, p.Parallel, func(ctx context.Context, x remote.Executor) error {
		return p.apply(ctx, byName[x.Name()])
	})
	err := errors.Join(probeErr, res.Err())
	p.record(err)
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
		if p.skip(c.Index) {
			continue
		}
		for _, n := range c.Nodes {
			steps, err := Steps(p.nodeData(c, n), p.Uploads)
			if err != nil {
				return nil, err
			}
			work = append(work, &nodeWork{cluster: c.Index, node: n.Name, x: p.Exec(c.Index, n.Name), steps: steps})
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
		probes[lab.Label(w.cluster, w.node)] = []string{probeScript(w.steps)}
	}
	return probes, nil
}

// probe asks every node which of its steps are done.
func (p *Phase) probe(ctx context.Context) ([]*nodeWork, error) {
	work, err := p.work()
	if err != nil {
		return nil, err
	}
	byName := map[string]*nodeWork{}
	var xs []remote.Executor
	for _, w := range work {
		xs = append(xs, w.x)
		byName[w.x.Name()] = w
	}
	res := remote.Each(ctx, xs, p.Parallel, func(ctx context.Context, x remote.Executor) error {
		w := byName[x.Name()]
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		var out remote.Result
		err := remote.RetryLost(ctx, StepAttempts, p.retrying(x.Name(), "probe"), func(ctx context.Context) (err error) {
			out, err = x.Run(ctx, remote.Command{Line: probeScript(w.steps)})
			return err
		})
		if err != nil {
			w.todo = nil
			return &StepError{Host: x.Name(), Step: "probe", Err: err}
		}
		facts, err := parseProbe(string(out.Stdout))
		if err != nil {
			return &StepError{Host: x.Name(), Step: "probe", Err: err}
		}
		w.todo = plan(w.steps, facts)
		return nil
	})
	// Unreachable nodes stay in the list with nothing to do: their cluster
	// fails, the others go on.
	return work, res.Err()
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
		fmt.Fprintf(w, "    %s: %s\n", lab.Label(nw.cluster, nw.node), strings.Join(names, ", "))
	}
	fmt.Fprintf(w, "    %d of %d nodes need work\n", busy, len(work))
}

// apply runs a node's planned steps in order and records each success.
// Steps are idempotent: one whose connection was lost runs again.
func (p *Phase) apply(ctx context.Context, w *nodeWork) error {
	for _, s := range w.todo {
		start := time.Now()
		err := remote.RetryLost(ctx, StepAttempts, p.retrying(w.x.Name(), s.Name), func(ctx context.Context) error {
			return p.runStep(ctx, w.x, s)
		})
		if err != nil {
			return &StepError{Host: w.x.Name(), Step: s.Name, Err: err}
		}
		p.mu.Lock()
		fmt.Fprintf(p.Out, "    %s: %s done in %s\n", w.x.Name(), s.Name, time.Since(start).Round(100*time.Millisecond))
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

// StepAttempts bounds the runs of a step whose connection keeps dropping.
const StepAttempts = 3

// retrying tells the user that a step runs again after a lost connection.
func (p *Phase) retrying(host, step string) func(int, error) {
	return func(n int, err error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		fmt.Fprintf(p.Out, "    %s: step %s: connection lost; running it again (attempt %d of %d)\n", host, step, n, StepAttempts)
	}
}

// StepError says which host failed which step.
type StepError struct {
	Host, Step string
	Err        error
}

func (e *StepError) Error() string {
	msg := e.Err.Error()
	msg = strings.TrimPrefix(msg, e.Host+": ")
	return fmt.Sprintf("%s: step %s: %s", e.Host, e.Step, msg)
}

func (e *StepError) Unwrap() error { return e.Err }

// record writes each cluster's outcome into the state.
func (p *Phase) record(err error) {
	failed := map[int]*StepError{}
	var hostErrs []error
	collect(err, &hostErrs)
	for _, e := range hostErrs {
		var se *StepError
		if errors.As(e, &se) {
			var c int
			fmt.Sscanf(se.Host, "%d/", &c)
			if failed[c] == nil {
				failed[c] = se
			}
		}
	}
	now := time.Now().UTC()
	for i := range p.State.Clusters {
		c := &p.State.Clusters[i]
		if p.skip(c.Index) {
			continue
		}
		r := lab.PhaseResult{OK: true, At: now}
		if se := failed[c.Index]; se != nil {
			r = lab.PhaseResult{OK: false, At: now, Step: se.Host + " " + se.Step, Error: se.Error()}
		} else if err != nil && clusterMentioned(err, c.Index) {
			r = lab.PhaseResult{OK: false, At: now, Error: firstLine(err, c.Index)}
		}
		c.SetPhase("nodeprep", r)
	}
}

func collect(err error, out *[]error) {
	if err == nil {
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			collect(e, out)
		}
		return
	}
	// remote.Results.Err is a go-multierror, which unwraps as a chain.
	if m, ok := err.(interface{ WrappedErrors() []error }); ok {
		for _, e := range m.WrappedErrors() {
			collect(e, out)
		}
		return
	}
	*out = append(*out, err)
}

func clusterMentioned(err error, c int) bool {
	return strings.Contains(err.Error(), fmt.Sprintf("%02d/node", c))
}

func firstLine(err error, c int) string {
	for _, l := range strings.Split(err.Error(), "\n") {
		if strings.Contains(l, fmt.Sprintf("%02d/node", c)) {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "- "))
		}
	}
	return err.Error()
}

func (p *Phase) skip(c int) bool { return p.Skip != nil && p.Skip(c) }

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
