// Package kind provides single-node attendee clusters made by kind
// (sigs.k8s.io/kind, used as a library): one kind cluster per attendee,
// its one node a container on this machine, its node image built by
// labctl from what it already has when no registry can be reached.
package kind

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/kind/pkg/cluster"

	"github.com/labctl/labctl/artifacts"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/provision/local"
)

// Labels labctl puts on what it makes for kind (the network).
const (
	LabelLab      = "labctl.lab"
	LabelProvider = "labctl.provider"
)

// Provider is the kind provider.
type Provider struct {
	// ConfDir holds labctl's containers.conf for the runtime (default
	// $XDG_CACHE_HOME/labctl/kind).
	ConfDir string
	// ReadyTimeout bounds the wait for a new cluster's node to be Ready.
	ReadyTimeout time.Duration

	once sync.Once
	rt   *Runtime
	err  error
}

// New returns the provider with its defaults.
func New() *Provider { return &Provider{ReadyTimeout: 4 * time.Minute} }

// Identity is empty: kind nodes have no sshd; labctl reaches them through
// the container runtime.
func (p *Provider) Identity(provision.Request) string { return "" }

func (p *Provider) runtime(ctx context.Context) (*Runtime, error) {
	p.once.Do(func() {
		dir := p.ConfDir
		if dir == "" {
			c, err := os.UserCacheDir()
			if err != nil {
				p.err = err
				return
			}
			dir = filepath.Join(c, "labctl", "kind")
		}
		p.rt, p.err = DetectRuntime(ctx, dir)
		if p.err == nil {
			p.err = p.rt.Setenv()
		}
	})
	return p.rt, p.err
}

// kindProvider is kind's own provider for the runtime, on the lab's
// network (kind would otherwise share one "kind" network between labs).
func (p *Provider) kindProvider(rt *Runtime, labName string) *cluster.Provider {
	opt := cluster.ProviderWithPodman()
	env := "KIND_EXPERIMENTAL_PODMAN_NETWORK"
	if rt.Name == "docker" {
		opt, env = cluster.ProviderWithDocker(), "KIND_EXPERIMENTAL_DOCKER_NETWORK"
	}
	os.Setenv(env, NetworkName(labName))
	return cluster.NewProvider(opt, cluster.ProviderWithLogger(quietLogger{}))
}

// Check refuses what would fail or harm: an unsupported version, no
// runtime, a kind cluster of the same name labctl did not make.
func (p *Provider) Check(ctx context.Context, r provision.Request) error {
	if r.Lab.NodesPerCluster != 1 {
		return fmt.Errorf("nodesPerCluster: the kind provider makes single-node clusters; set it to 1")
	}
	if err := CheckVersion(r.Lab.Kubernetes.Version); err != nil {
		return err
	}
	rt, err := p.runtime(ctx)
	if err != nil {
		return fmt.Errorf("provider.type kind: %w", err)
	}
	existing, err := p.kindProvider(rt, r.Lab.Name).List()
	if err != nil {
		return fmt.Errorf("provider.type kind: listing kind clusters: %w", err)
	}
	return CheckClash(r.Lab, r.State, existing)
}

// CheckClash refuses a kind cluster that has an attendee cluster's name
// but is not in the lab's state: labctl did not make it, and must neither
// adopt nor delete it.
func CheckClash(l *lab.Lab, s *lab.State, existing []string) error {
	for c := 1; c <= l.ClusterCount(); c++ {
		name := ClusterName(l.Name, c)
		if slices.Contains(existing, name) && !Owned(s, c, name) {
			return fmt.Errorf("name: a kind cluster %q exists that labctl did not create for lab %s; rename the lab or remove that cluster yourself (`kind delete cluster --name %s`)", name, l.Name, name)
		}
	}
	return nil
}

// Owned says whether the state records kind cluster name as attendee
// cluster c: labctl made it.
func Owned(s *lab.State, c int, name string) bool {
	cl := s.Cluster(c)
	if cl == nil {
		return false
	}
	n := cl.Node(lab.NodeName(1))
	return n != nil && n.Runtime != "" && n.ID == NodeContainer(name)
}

// Provision makes every attendee's kind cluster that does not exist yet
// and records its node; existing ones are checked, not touched.
func (p *Provider) Provision(ctx context.Context, r provision.Request) error {
	if err := p.Check(ctx, r); err != nil {
		return err
	}
	rt, _ := p.runtime(ctx)
	kp := p.kindProvider(rt, r.Lab.Name)
	existing, err := kp.List()
	if err != nil {
		return fmt.Errorf("listing kind clusters: %w", err)
	}
	var missing []int
	for c := 1; c <= r.Lab.ClusterCount(); c++ {
		if !slices.Contains(existing, ClusterName(r.Lab.Name, c)) {
			missing = append(missing, c)
		}
	}
	image := ""
	if len(missing) > 0 {
		// The image first: a node image that cannot be had changes nothing.
		if image, err = p.nodeImage(ctx, rt, r.Lab, r.Out); err != nil {
			return err
		}
		if err := prepareHost(rt, r.Lab.ClusterCount(), r.Out); err != nil {
			return err
		}
		if err := ensureNetwork(ctx, rt, r.Lab.Name); err != nil {
			return err
		}
	}
	kcDir := KubeconfigDir(r.StateDir)
	if err := os.MkdirAll(kcDir, 0o700); err != nil {
		return err
	}
	// kind makes one cluster at a time well; two at once keep both cores busy.
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for c := 1; c <= r.Lab.ClusterCount(); c++ {
		name := ClusterName(r.Lab.Name, c)
		created := slices.Contains(missing, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			node, ca, err := p.ensureCluster(ctx, rt, kp, r, c, name, image, created)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("cluster %02d (kind cluster %s): %w", c, name, err))
				return
			}
			provision.SetNode(r.State, c, node, created)
			if ca != nil {
				// kind ran kubeadm init: its CA is the one the API
				// server is verified against from now on (kube.Connect).
				cl := r.State.Cluster(c)
				cl.CA, cl.Kubeconfig = string(ca), ""
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d clusters failed: %w", len(errs), r.Lab.ClusterCount(), joinErrs(errs))
	}
	return nil
}

// ensureCluster creates cluster name (when create) and returns its node,
// and the new cluster's CA when it created it.
func (p *Provider) ensureCluster(ctx context.Context, rt *Runtime, kp *cluster.Provider, r provision.Request, c int, name, image string, create bool) (lab.Node, []byte, error) {
	if create {
		fmt.Fprintf(r.Out, "    cluster %02d: creating kind cluster %s\n", c, name)
		start := time.Now()
		err := kp.Create(name,
			cluster.CreateWithV1Alpha4Config(clusterConfig(name, image, r.Lab.Kubernetes.PodSubnet, r.Lab.Kubernetes.Source == "cache")),
			cluster.CreateWithWaitForReady(p.ReadyTimeout),
			cluster.CreateWithKubeconfigPath(kindKubeconfig(r.StateDir, c)),
			cluster.CreateWithDisplayUsage(false),
			cluster.CreateWithDisplaySalutation(false),
		)
		if err != nil {
			// Half made, and ours: do not leave it to clash with the re-run.
			_ = kp.Delete(name, kindKubeconfig(r.StateDir, c))
			return lab.Node{}, nil, fmt.Errorf("kind create: %w", err)
		}
		fmt.Fprintf(r.Out, "    cluster %02d: kind cluster %s ready in %s\n", c, name, time.Since(start).Round(time.Second))
	} else if err := startIfStopped(ctx, rt, NodeContainer(name)); err != nil {
		return lab.Node{}, nil, err
	}
	addr, err := rt.Output(ctx, "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", NodeContainer(name))
	if err != nil {
		return lab.Node{}, nil, err
	}
	kc, err := kp.KubeConfig(name, false)
	if err != nil {
		return lab.Node{}, nil, fmt.Errorf("reading its kubeconfig: %w", err)
	}
	if err := writeIfChanged0600(KubeconfigPath(r.StateDir, c), kc); err != nil {
		return lab.Node{}, nil, err
	}
	var ca []byte
	if create {
		a, err := kube.ParseAdmin([]byte(kc))
		if err != nil || a.CA == nil {
			return lab.Node{}, nil, fmt.Errorf("kind's kubeconfig: %v (no cluster CA)", err)
		}
		ca = a.CA
	}
	return lab.Node{Name: lab.NodeName(1), PublicAddress: addr, PrivateAddress: addr, ID: NodeContainer(name), Runtime: rt.Name}, ca, nil
}

// Destroy deletes the lab's kind clusters that labctl made (the state
// records them), their kubeconfigs, and, with the whole lab, its network.
func (p *Provider) Destroy(ctx context.Context, r provision.Request) error {
	rt, err := p.runtime(ctx)
	if err != nil {
		return fmt.Errorf("provider.type kind: %w", err)
	}
	kp := p.kindProvider(rt, r.Lab.Name)
	existing, err := kp.List()
	if err != nil {
		return fmt.Errorf("listing kind clusters: %w", err)
	}
	var errs []error
	for _, cl := range r.State.Clusters {
		if !r.Selected(cl.Index) {
			continue
		}
		name := ClusterName(r.Lab.Name, cl.Index)
		if slices.Contains(existing, name) {
			if !Owned(r.State, cl.Index, name) {
				errs = append(errs, fmt.Errorf("cluster %02d: kind cluster %s is not labctl's (not in the state): left alone", cl.Index, name))
				continue
			}
			fmt.Fprintf(r.Out, "deleting kind cluster %s\n", name)
			if err := kp.Delete(name, kindKubeconfig(r.StateDir, cl.Index)); err != nil {
				errs = append(errs, fmt.Errorf("cluster %02d: kind delete %s: %w", cl.Index, name, err))
				continue
			}
		}
		os.Remove(KubeconfigPath(r.StateDir, cl.Index))
		os.Remove(kindKubeconfig(r.StateDir, cl.Index))
		os.Remove(kindKubeconfig(r.StateDir, cl.Index) + ".lock")
	}
	if len(errs) > 0 {
		return joinErrs(errs)
	}
	if len(r.Clusters) == 0 {
		if err := removeNetwork(ctx, rt, r.Lab.Name); err != nil {
			return err
		}
		os.Remove(KubeconfigDir(r.StateDir))
	}
	return nil
}

// nodeImage is the lab's node image: with `source: packages`, kind's own
// kindest/node (pulled from its registry); with `source: cache`, labctl's
// own, built from the artifact cache (Kubernetes binaries and images) on
// top of the local provider's Debian node image, once per recipe.
func (p *Provider) nodeImage(ctx context.Context, rt *Runtime, l *lab.Lab, out io.Writer) (string, error) {
	if l.Kubernetes.Source == "packages" {
		return pullKindest(ctx, rt, l.Kubernetes.Version, out)
	}
	m, err := artifacts.Build(ctx, artifacts.Options{KubernetesVersion: l.Kubernetes.Version, CacheDir: l.Kubernetes.Artifacts, Log: out})
	if err != nil {
		return "", fmt.Errorf("kind node image: Kubernetes artifacts: %w", err)
	}
	if rt.Name != "podman" {
		return "", fmt.Errorf("kind node image: building it needs podman (found %s)", rt.Name)
	}
	pm := &local.Podman{}
	base, err := local.EnsureImage(ctx, pm, local.DefaultRecipe(), out)
	if err != nil {
		return "", err
	}
	return EnsureImage(ctx, rt, ImageRecipe{
		Base: base, Artifacts: m.Dir, ArtifactsHash: m.RecipeHash,
		Kubernetes: m.Recipe.Kubernetes, Pause: "registry.k8s.io/pause:" + m.Recipe.Pause,
		PodSubnet: l.Kubernetes.PodSubnet,
	}, out)
}

// pullKindest makes sure kind's node image for version is on this machine,
// pulling it when it is not; the error is one line saying what to do.
func pullKindest(ctx context.Context, rt *Runtime, version string, out io.Writer) (string, error) {
	ref := KindestImage(version)
	if rt.ImageExists(ctx, ref) {
		return ref, nil
	}
	fmt.Fprintf(out, "    pulling kind's node image %s\n", ref)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	if _, err := rt.Output(pctx, "pull", ref); err != nil {
		return "", fmt.Errorf("kubernetes.source packages: kind's node image %s cannot be pulled (%s); kind publishes kindest/node for some patch versions only (see its release notes), and offline `kubernetes.source: cache` builds labctl's own node image", ref, lastLine(err.Error()))
	}
	return ref, nil
}

// lastLine is the last non-empty line of s, trimmed: a runtime's reason.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// Env is what the runtime's commands need in their environment to reach
// this provider's nodes the way they were made (labctl's CONTAINERS_CONF).
func (p *Provider) Env(ctx context.Context) ([]string, error) {
	rt, err := p.runtime(ctx)
	if err != nil {
		return nil, fmt.Errorf("provider.type kind: %w", err)
	}
	return rt.Env, nil
}
