// Package phase is the labctl pipeline phase for DockerCoins: it preloads the
// images into every node's containerd (so that `kubectl create deployment rng
// --image=dockercoins/rng:v0.1` works offline) and, when asked, deploys the
// stack on each cluster and waits until it mines.
//
// Every step probes first and acts only where the facts differ from the
// goal, so a second run over a finished class only probes.
package phase

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/labctl/labctl/coins/images"
	"github.com/labctl/labctl/coins/manifests"
	"github.com/labctl/labctl/coins/mirror"
	"github.com/labctl/labctl/internal/fan"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
	labphase "github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// Config of the phase; zero values take the defaults. Its context gives
// the clusters (those not skipped), their nodes' executors, the bound on
// busy nodes (Parallel, default 10), Out (nil discards) and where each
// cluster's outcome goes (phase "coins": preloaded, and deployed when
// Deploy).
type Config struct {
	labphase.Context
	// Archive is the OCI archive built by images.Build (Result.Archive).
	Archive string
	// Mirror is labctl-mirror by architecture (images.Result.Mirror): each
	// node then also serves the archive's images as its docker.io mirror
	// (coins/mirror). Empty: no mirror.
	Mirror map[string]string
	// Deploy also deploys the stack on every cluster and waits for mining.
	Deploy bool
	// Namespace for the stack, default "dockercoins"; never "default".
	Namespace string
	// Kube is cluster c's API client (through node1); Deploy needs it.
	Kube func(ctx context.Context, cluster int) (*kube.Client, error)
	// MineTimeout bounds the wait for the stack to mine, default 3 minutes.
	MineTimeout time.Duration
	// MinePoll is the time between two readings of the counter, default 2 s
	// (the worker updates it about every 1.2 s).
	MinePoll time.Duration
}

// RemoteArchive is where the archive is uploaded on each node.
const RemoteArchive = "/tmp/labctl-dockercoins-images.tar"

// Phase implements pipeline.Phase (and DryRunner).
type Phase struct {
	Config
	// objects are the stack's, decoded from the rendered manifests, in
	// apply order (the Namespace first); deployments names its Deployments.
	objects     []kube.Object
	deployments []string
	sums        *mirrorSums // nil without a mirror
	mu          sync.Mutex  // serialises Out
	done        sync.Mutex  // serialises Done and Save
}

// New checks the configuration and renders the manifests.
func New(cfg Config) (*Phase, error) {
	if cfg.Namespace == "" {
		cfg.Namespace = manifests.DefaultNamespace
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 10
	}
	if cfg.MineTimeout < time.Second {
		cfg.MineTimeout = 3 * time.Minute
	}
	if cfg.MinePoll <= 0 {
		cfg.MinePoll = 2 * time.Second
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if _, err := os.Stat(cfg.Archive); err != nil {
		return nil, fmt.Errorf("dockercoins images: %w (build them with `labctl coins build`)", err)
	}
	manifest, err := manifests.Render(manifests.Options{Namespace: cfg.Namespace})
	if err != nil {
		return nil, err
	}
	objects, err := kube.Decode(manifest)
	if err != nil {
		return nil, fmt.Errorf("dockercoins manifests: %w", err)
	}
	var deployments []string
	for _, o := range objects {
		if ref, err := kube.RefOf(o); err == nil && ref.GVK.Kind == "Deployment" {
			deployments = append(deployments, ref.Name)
		}
	}
	for _, c := range cfg.Clusters() {
		if len(c.Nodes) == 0 {
			return nil, fmt.Errorf("cluster %02d has no nodes", c.Index)
		}
		if cfg.Deploy && cfg.Kube == nil {
			return nil, fmt.Errorf("cluster %02d: deploying needs its API client", c.Index)
		}
	}
	sums, err := newMirrorSums(cfg.Archive, cfg.Mirror)
	if err != nil {
		return nil, err
	}
	return &Phase{Config: cfg, objects: objects, deployments: deployments, sums: sums}, nil
}

// Title implements pipeline.Phase.
func (p *Phase) Title() string {
	if p.Deploy {
		return "DockerCoins: preload images" + p.mirrorTitle() + ", deploy in namespace " + p.Namespace
	}
	return "DockerCoins: preload images" + p.mirrorTitle()
}

func (p *Phase) mirrorTitle() string {
	if p.sums == nil {
		return ""
	}
	return " and serve them as docker.io on " + mirror.Addr
}

func (p *Phase) logf(host, format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.Out, "    %s: %s\n", host, fmt.Sprintf(format, args...))
}

// Run implements pipeline.Phase: every cluster independent of the
// others; the error lists every cluster that failed.
func (p *Phase) Run(ctx context.Context) error {
	return p.each(ctx, p.preload, func(ctx context.Context, c *lab.Cluster) error {
		if !p.Deploy {
			return nil
		}
		return p.deploy(ctx, c)
	}, true)
}

// DryRun implements pipeline.DryRunner: it probes (read-only) and prints
// what Run would do.
func (p *Phase) DryRun(ctx context.Context, w io.Writer) error {
	out := p.Out
	p.Out = w
	defer func() { p.Out = out }()
	return p.each(ctx, func(ctx context.Context, node remote.Executor) error {
		missing, err := p.missingImages(ctx, node)
		if err != nil {
			return err
		}
		plan, err := p.planMirror(ctx, node)
		switch {
		case err != nil:
			return err
		case len(missing) > 0:
			p.logf(node.Name(), "would upload %s and import %d images (missing %v)", RemoteArchive, len(images.FullRefs()), missing)
		case plan.install:
			p.logf(node.Name(), "images present; would upload %s to serve them as docker.io on %s", RemoteArchive, mirror.Addr)
		default:
			p.logf(node.Name(), "images present")
		}
		if plan.install {
			p.logf(node.Name(), "would install %s (%s) and labctl-mirror.service over %s", MirrorBinary, plan.state.arch, mirror.DefaultLayout)
		} else if plan.restart {
			p.logf(node.Name(), "would restart labctl-mirror.service")
		}
		return nil
	}, func(ctx context.Context, c *lab.Cluster) error {
		if p.Deploy {
			p.logf(node1(c), "would deploy DockerCoins in namespace %s unless it is mining already", p.Namespace)
		}
		return nil
	}, false)
}

// each runs node on every node of the clusters not skipped, Parallel at
// once over all of them, then cluster on every cluster whose nodes all
// succeeded, all at once: deploying is mostly waiting, it takes no node.
// With record, each cluster's outcome is recorded and the state saved as
// the cluster ends. The error joins the clusters'.
func (p *Phase) each(ctx context.Context, node func(context.Context, remote.Executor) error,
	cluster func(context.Context, *lab.Cluster) error, record bool) error {
	cs := p.Clusters()
	type target struct {
		c int // index in cs
		x remote.Executor
	}
	var targets []target
	for i, c := range cs {
		for _, n := range c.Nodes {
			targets = append(targets, target{i, p.Exec(c.Index, n.Name)})
		}
	}
	nodeErrs := fan.Each(ctx, len(targets), p.Parallel, func(ctx context.Context, i int) error {
		return node(ctx, targets[i].x)
	})
	failed := make([][]error, len(cs))
	for i, t := range targets {
		if err := nodeErrs[i]; err != nil {
			if err == ctx.Err() { // its turn never came
				err = fmt.Errorf("%s: %w", t.x.Name(), err)
			}
			failed[t.c] = append(failed[t.c], err)
		}
	}
	errs := fan.Each(ctx, len(cs), len(cs), func(ctx context.Context, i int) error {
		c := cs[i]
		err := errors.Join(failed[i]...)
		if err == nil {
			err = cluster(ctx, c)
		}
		if err != nil {
			err = fmt.Errorf("cluster %02d: %w", c.Index, err)
		}
		if record {
			p.finish(labphase.Outcome{Cluster: c.Index, Phase: "coins", Step: "coins", Err: err})
		}
		return err
	})
	return errors.Join(errs...)
}

// finish records one cluster's outcome and saves the state (a failed save
// is the next one's to retry: the run goes on).
func (p *Phase) finish(o labphase.Outcome) {
	p.done.Lock()
	defer p.done.Unlock()
	p.Done(o)
	if p.Save != nil {
		_ = p.Save()
	}
}

// node1 is the label of c's first node, which reaches its API server.
func node1(c *lab.Cluster) string { return lab.Label(c.Index, c.Nodes[0].Name) }

// run runs line on node; an error names the host and the command.
func run(ctx context.Context, node remote.Executor, line string, stdin io.Reader) (remote.Result, error) {
	res, err := node.Run(ctx, remote.Command{Line: line, Stdin: stdin})
	if err != nil {
		var exit *remote.ExitError
		if !errors.As(err, &exit) {
			err = fmt.Errorf("%s: %q: %w", node.Name(), line, err)
		}
	}
	return res, err
}
