package addons

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/labctl/labctl/internal/fan"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// Cluster is one cluster as the phase sees it.
type Cluster struct {
	Index int
	// Node1 reaches the API server (its tunnel); Nodes get the images.
	Node1 remote.Executor
	Nodes []remote.Executor
	// Applied is the digest recorded by the last successful apply.
	Applied string
	// Connect gives the run's API client for this cluster (nil: one is
	// made through Node1 from its admin.conf).
	Connect func(context.Context) (*kube.Client, error)
	// Info is the cluster's nodes as labctl knows them (for After hooks).
	Info []lab.Node
}

// Outcome is what the phase did to one cluster (Phase "addons", Step
// "addons images" where it failed) and, on success, the digest of what
// is applied now.
type Outcome struct {
	phase.Outcome
	Digest string
}

// Phase installs the selected add-ons on every cluster.
type Phase struct {
	Clusters []Cluster
	Addons   []Addon
	Env      Env
	// Archives are the images to import on every node (offline labs), by
	// reference; empty when nodes pull from registries.
	Archives map[string]string
	// Done receives each cluster's outcome.
	Done     func(Outcome)
	Parallel int
	Out      io.Writer

	mu sync.Mutex
}

func (p *Phase) Title() string { return "addons" }

func (p *Phase) logf(format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.Out, "    "+format+"\n", a...)
}

// Probes asks every node which images it has, in the run's probe round.
func (p *Phase) Probes() (map[string][]string, error) {
	probes := map[string][]string{}
	if len(p.Archives) == 0 {
		return probes, nil
	}
	for _, c := range p.Clusters {
		for _, n := range c.Nodes {
			probes[n.Name()] = []string{listImages}
		}
	}
	return probes, nil
}

// Run converges every cluster at once; one failing never stops the others.
func (p *Phase) Run(ctx context.Context) error {
	objs, err := Render(p.Addons, p.Env)
	if err != nil {
		return err
	}
	digest, err := digestOf(objs, specURLs(p.Addons, p.Env)...)
	if err != nil {
		return err
	}
	errs := fan.Each(ctx, len(p.Clusters), p.Parallel, func(ctx context.Context, i int) error {
		out := p.cluster(ctx, p.Clusters[i], objs, digest)
		if p.Done != nil {
			p.Done(out)
		}
		return out.Err
	})
	res := make(remote.Results, len(p.Clusters))
	for i, c := range p.Clusters {
		res[i] = remote.HostResult{Host: c.Node1.Name(), Err: errs[i]}
	}
	return res.Err()
}

func (p *Phase) cluster(ctx context.Context, c Cluster, objs []kube.Object, digest string) Outcome {
	fail := func(step string, err error) Outcome {
		return Outcome{Outcome: phase.Outcome{Cluster: c.Index, Phase: "addons", Step: "addons " + step, Err: fmt.Errorf("cluster %02d: add-ons: %s: %w", c.Index, step, err)}}
	}
	if err := p.preload(ctx, c); err != nil {
		return fail("images", err)
	}
	hooks := slices.ContainsFunc(p.Addons, func(a Addon) bool { return a.After != nil })
	if c.Applied == digest && !hooks {
		p.logf("cluster %02d: add-ons unchanged (%s)", c.Index, Names(p.Addons))
		return Outcome{Outcome: phase.Outcome{Cluster: c.Index, Phase: "addons"}, Digest: digest}
	}
	connect := c.Connect
	if connect == nil {
		connect = func(ctx context.Context) (*kube.Client, error) {
			return kube.Connect(ctx, c.Node1, kube.Recorded{}, nil)
		}
	}
	cl, err := connect(ctx)
	if err != nil {
		return fail("connect", err)
	}
	if c.Applied == digest {
		p.logf("cluster %02d: add-ons unchanged (%s)", c.Index, Names(p.Addons))
	} else {
		specs, err := p.fetchSpecs(ctx, c.Node1)
		if err != nil {
			return fail("spec", err)
		}
		if err := p.apply(ctx, c, cl, append(specs, objs...)); err != nil {
			return fail(err.step, err.err)
		}
	}
	info := ClusterInfo{Index: c.Index, Nodes: c.Info, Logf: p.logf}
	for _, a := range p.Addons {
		if a.After == nil {
			continue
		}
		if err := a.After(ctx, cl, info); err != nil {
			return fail(a.Name, err)
		}
	}
	return Outcome{Outcome: phase.Outcome{Cluster: c.Index, Phase: "addons"}, Digest: digest}
}

// stepError is a failed step of apply.
type stepError struct {
	step string
	err  error
}

// apply applies objs and prunes what the lab no longer wants.
func (p *Phase) apply(ctx context.Context, c Cluster, cl *kube.Client, objs []kube.Object) *stepError {
	if err := cl.Apply(ctx, objs); err != nil {
		return &stepError{"apply", err}
	}
	var keep []kube.Ref
	for _, o := range objs {
		r, err := kube.RefOf(o)
		if err != nil {
			return &stepError{"apply", err}
		}
		keep = append(keep, r)
	}
	deleted, err := cl.Prune(ctx, PruneKinds, LabelManagedBy+"=labctl,"+LabelAddon, keep)
	if err != nil {
		return &stepError{"prune", err}
	}
	p.logf("cluster %02d: applied %d objects (%s)", c.Index, len(objs), Names(p.Addons))
	if len(deleted) > 0 {
		p.logf("cluster %02d: removed %s", c.Index, kube.Names(deleted))
	}
	return nil
}

// PruneKinds are the kinds an add-on may create, so the kinds searched for
// objects the lab no longer wants. Namespaces come last: deleting one
// deletes what is left in it.
var PruneKinds = []schema.GroupVersionKind{
	{Group: "apps", Version: "v1", Kind: "DaemonSet"},
	{Group: "apps", Version: "v1", Kind: "Deployment"},
	{Group: "apps", Version: "v1", Kind: "StatefulSet"},
	{Version: "v1", Kind: "Service"},
	{Version: "v1", Kind: "ConfigMap"},
	{Version: "v1", Kind: "Secret"},
	{Version: "v1", Kind: "ServiceAccount"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"},
	{Group: "storage.k8s.io", Version: "v1", Kind: "StorageClass"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "IngressClass"},
	{Group: "apiregistration.k8s.io", Version: "v1", Kind: "APIService"},
	{Version: "v1", Kind: "Namespace"},
}

// digestOf identifies the rendered objects and the vendor specs' URLs:
// the same digest as the last apply means there is nothing to send.
func digestOf(objs []kube.Object, specURLs ...string) (string, error) {
	h := sha256.New()
	for _, u := range specURLs {
		h.Write([]byte("spec " + u + "\n"))
	}
	for _, o := range objs {
		u, err := kube.ToUnstructured(o)
		if err != nil {
			return "", err
		}
		b, err := json.Marshal(u.Object)
		if err != nil {
			return "", err
		}
		h.Write(b)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
