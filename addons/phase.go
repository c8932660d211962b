package addons

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
)

// Phase installs the selected add-ons on every cluster not skipped (its
// outcomes are phase "addons", Step "addons images" where it failed).
type Phase struct {
	phase.Context
	Addons []Addon
	Env    Env
	// Archives are the images to import on every node (offline labs), by
	// reference; empty when nodes pull from registries.
	Archives map[string]string
	// Kube is cluster c's API client, through node1 (nil: one is made
	// through node1's executor from its admin.conf).
	Kube func(ctx context.Context, cluster int) (*kube.Client, error)
	// Applied receives the digest of what is applied on a cluster the
	// phase converged, before the state is saved; nil: the phase writes
	// it into State itself (its Addons, which the next run compares).
	// Clusters end concurrently: the pipeline writes under its own lock.
	Applied func(cluster int, digest string)

	mu   sync.Mutex // serialises Out
	done sync.Mutex // serialises Done, Applied and Save
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
	for _, c := range p.Clusters() {
		for _, n := range c.Nodes {
			probes[lab.Label(c.Index, n.Name)] = []string{listImages}
		}
	}
	return probes, nil
}

// Run converges the clusters not skipped, as many at once as ssh.parallel
// has nodes for (EachCluster); one failing never stops the others.
func (p *Phase) Run(ctx context.Context) error {
	objs, err := Render(p.Addons, p.Env)
	if err != nil {
		return err
	}
	digest, err := digestOf(objs, specURLs(p.Addons, p.Env)...)
	if err != nil {
		return err
	}
	return p.EachCluster(ctx, func(ctx context.Context, c *lab.Cluster) error {
		o, applied := p.cluster(ctx, c, objs, digest)
		p.finish(o, applied)
		return o.Err
	})
}

// finish records one cluster's outcome and, when it converged, the digest
// applied there, then saves the state (a failed save is the next one's
// to retry: the run goes on).
func (p *Phase) finish(o phase.Outcome, applied string) {
	p.done.Lock()
	defer p.done.Unlock()
	p.Done(o)
	if o.Err == nil {
		if p.Applied != nil {
			p.Applied(o.Cluster, applied)
		} else if c := p.State.Cluster(o.Cluster); c != nil {
			c.Addons = applied
		}
	}
	if p.Save != nil {
		_ = p.Save()
	}
}

// cluster converges c; on success it also gives the digest applied now.
func (p *Phase) cluster(ctx context.Context, c *lab.Cluster, objs []kube.Object, digest string) (phase.Outcome, string) {
	ok := phase.Outcome{Cluster: c.Index, Phase: "addons"}
	fail := func(step string, err error) (phase.Outcome, string) {
		return phase.Outcome{Cluster: c.Index, Phase: "addons", Step: "addons " + step, Err: fmt.Errorf("cluster %02d: add-ons: %s: %w", c.Index, step, err)}, ""
	}
	if err := p.preload(ctx, c); err != nil {
		return fail("images", err)
	}
	hooks := slices.ContainsFunc(p.Addons, func(a Addon) bool { return a.After != nil })
	if c.Addons == digest && !hooks {
		p.logf("cluster %02d: add-ons unchanged (%s)", c.Index, Names(p.Addons))
		return ok, digest
	}
	// Through the probe round's executor: an apply drops the round's
	// answers for this cluster, so the health checks ask afresh.
	node1 := p.Exec(c.Index, "node1")
	var cl *kube.Client
	var err error
	if p.Kube != nil {
		cl, err = p.Kube(ctx, c.Index)
	} else {
		cl, err = kube.Connect(ctx, node1, kube.Recorded{}, nil)
	}
	if err != nil {
		return fail("connect", err)
	}
	if c.Addons == digest {
		p.logf("cluster %02d: add-ons unchanged (%s)", c.Index, Names(p.Addons))
	} else {
		specs, err := p.fetchSpecs(ctx, node1)
		if err != nil {
			return fail("spec", err)
		}
		if err := p.apply(ctx, c.Index, cl, append(specs, objs...)); err != nil {
			return fail(err.step, err.err)
		}
	}
	info := ClusterInfo{Index: c.Index, Nodes: c.Nodes, Logf: p.logf}
	for _, a := range p.Addons {
		if a.After == nil {
			continue
		}
		if err := a.After(ctx, cl, info); err != nil {
			return fail(a.Name, err)
		}
	}
	return ok, digest
}

// stepError is a failed step of apply.
type stepError struct {
	step string
	err  error
}

// apply applies objs and prunes what the lab no longer wants.
func (p *Phase) apply(ctx context.Context, c int, cl *kube.Client, objs []kube.Object) *stepError {
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
	p.logf("cluster %02d: applied %d objects (%s)", c, len(objs), Names(p.Addons))
	if len(deleted) > 0 {
		p.logf("cluster %02d: removed %s", c, kube.Names(deleted))
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
