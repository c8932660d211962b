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
	"github.com/labctl/labctl/kube"
	labphase "github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// Cluster is one attendee's cluster; Nodes[0] is node1.
type Cluster struct {
	Index int // errors say "cluster 01: ..."
	Nodes []remote.Executor
	// Kube is the cluster's API client (through node1); Deploy needs it.
	Kube func(context.Context) (*kube.Client, error)
}

// Config of the phase; zero values take the defaults.
type Config struct {
	Clusters []Cluster
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
	// Parallel bounds how many nodes are worked on at once, default 10.
	Parallel int
	// MineTimeout bounds the wait for the stack to mine, default 3 minutes.
	MineTimeout time.Duration
	// MinePoll is the time between two readings of the counter, default 2 s
	// (the worker updates it about every 1.2 s).
	MinePoll time.Duration
	// Out receives one line per node and step; nil discards them.
	Out io.Writer
	// Done, when set, receives each cluster's outcome as Run ends it (nil
	// error: preloaded, and deployed when Deploy), as phase "coins".
	Done func(labphase.Outcome)
}

// RemoteArchive is where the archive is uploaded on each node.
const RemoteArchive = "/tmp/labctl-dockercoins-images.tar"

// Phase implements pipeline.Phase (and DryRunner).
type Phase struct {
	cfg Config
	// objects are the stack's, decoded from the rendered manifests, in
	// apply order (the Namespace first); deployments names its Deployments.
	objects     []kube.Object
	deployments []string
	sums        *mirrorSums // nil without a mirror
	mu          sync.Mutex  // serialises Out
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
	for _, c := range cfg.Clusters {
		if len(c.Nodes) == 0 {
			return nil, fmt.Errorf("cluster %02d has no nodes", c.Index)
		}
		if cfg.Deploy && c.Kube == nil {
			return nil, fmt.Errorf("cluster %02d: deploying needs its API client", c.Index)
		}
	}
	sums, err := newMirrorSums(cfg.Archive, cfg.Mirror)
	if err != nil {
		return nil, err
	}
	return &Phase{cfg: cfg, objects: objects, deployments: deployments, sums: sums}, nil
}

// Title implements pipeline.Phase.
func (p *Phase) Title() string {
	if p.cfg.Deploy {
		return "DockerCoins: preload images" + p.mirrorTitle() + ", deploy in namespace " + p.cfg.Namespace
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
	fmt.Fprintf(p.cfg.Out, "    %s: %s\n", host, fmt.Sprintf(format, args...))
}

// Run implements pipeline.Phase: all clusters at once, each independent of
// the others; the error lists every cluster that failed.
func (p *Phase) Run(ctx context.Context) error {
	return p.each(ctx, func(ctx context.Context, c Cluster, sem chan struct{}) error {
		if err := p.forNodes(ctx, c, sem, p.preload); err != nil {
			return err
		}
		if !p.cfg.Deploy {
			return nil
		}
		// Deploying is mostly waiting: it takes no slot in sem.
		return p.deploy(ctx, c)
	}, p.cfg.Done)
}

// DryRun implements pipeline.DryRunner: it probes (read-only) and prints
// what Run would do.
func (p *Phase) DryRun(ctx context.Context, w io.Writer) error {
	out := p.cfg.Out
	p.cfg.Out = w
	defer func() { p.cfg.Out = out }()
	return p.each(ctx, func(ctx context.Context, c Cluster, sem chan struct{}) error {
		err := p.forNodes(ctx, c, sem, func(ctx context.Context, node remote.Executor) error {
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
		})
		if err == nil && p.cfg.Deploy {
			p.logf(c.Nodes[0].Name(), "would deploy DockerCoins in namespace %s unless it is mining already", p.cfg.Namespace)
		}
		return err
	}, nil)
}

// each runs fn for every cluster concurrently, sharing one bound on the
// number of busy nodes, tells done (when set) each cluster's outcome, and
// joins the clusters' errors.
func (p *Phase) each(ctx context.Context, fn func(context.Context, Cluster, chan struct{}) error, done func(labphase.Outcome)) error {
	sem := make(chan struct{}, p.cfg.Parallel)
	errs := make([]error, len(p.cfg.Clusters))
	var wg sync.WaitGroup
	for i, c := range p.cfg.Clusters {
		wg.Go(func() {
			if err := fn(ctx, c, sem); err != nil {
				errs[i] = fmt.Errorf("cluster %02d: %w", c.Index, err)
			}
			if done != nil {
				done(labphase.Outcome{Cluster: c.Index, Phase: "coins", Step: "coins", Err: errs[i]})
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// forNodes runs fn on every node of c concurrently (within sem).
func (p *Phase) forNodes(ctx context.Context, c Cluster, sem chan struct{}, fn func(context.Context, remote.Executor) error) error {
	errs := make([]error, len(c.Nodes))
	var wg sync.WaitGroup
	for i, node := range c.Nodes {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = fmt.Errorf("%s: %w", node.Name(), ctx.Err())
				return
			}
			defer func() { <-sem }()
			errs[i] = fn(ctx, node)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

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
