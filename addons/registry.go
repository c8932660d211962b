package addons

import (
	"context"
	"fmt"
	"time"

	"github.com/labctl/labctl/addons/metricsserver"
	"github.com/labctl/labctl/addons/netcheck"
	"github.com/labctl/labctl/addons/netpol"
	"github.com/labctl/labctl/addons/portworx"
	"github.com/labctl/labctl/addons/prometheus"
	"github.com/labctl/labctl/addons/weave"
	"github.com/labctl/labctl/artifacts/goimage"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
)

// Registry is every add-on this version knows, by name. The lab file's
// names are in lab.Addons; netcheck, netpol and weave are implied by the
// health checks and kubernetes.cni.
func Registry() map[string]Addon {
	return map[string]Addon{
		"netcheck": {
			Name: "netcheck",
			Images: []Image{{Key: "netcheck", Build: &goimage.Spec{
				Ref: "localhost/labctl/netcheck", Package: netcheck.Package, Binary: "labctl-netcheck"}}},
			Objects: func(e Env) ([]kube.Object, error) { return netcheck.Objects(e.Image("netcheck")), nil },
		},
		// NetworkPolicy for CNIs that do not enforce it (bridge): labctl's
		// own enforcer, since this machine's kernel lacks the nftables
		// queue that sigs.k8s.io/kube-network-policies needs.
		"netpol": {
			Name: "netpol",
			Images: []Image{{Key: "netpol", Build: &goimage.Spec{
				Ref: "localhost/labctl/netpol", Package: netpol.Package, Binary: netpol.Binary, User: "0:0"}}},
			Objects: func(e Env) ([]kube.Object, error) {
				var out []kube.Object
				for _, o := range netpol.Objects(e.Image("netpol")) {
					out = append(out, o)
				}
				return out, nil
			},
		},
		// Helm is a tool on every node already (nodeprep); the name is
		// accepted for lab files written for the course's tooling.
		"helm": {Name: "helm"},
		// The course's CNI. Its images are pulled by the nodes from
		// kubernetes.weave.registry (a lab setting, not an Image here:
		// nothing to build, and the reference depends on the lab).
		"weave": {
			Name:    "weave",
			Offline: "Weave Net's images cannot be built offline (github.com/weaveworks/weave is not on the Go module proxy); use kubernetes.cni: bridge (NetworkPolicy is enforced with it too)",
			Objects: func(e Env) ([]kube.Object, error) {
				if e.Lab == nil {
					return nil, fmt.Errorf("no lab to read kubernetes.weave and kubernetes.podSubnet from")
				}
				k := e.Lab.Kubernetes
				kubeImage, npcImage := weave.Images(k.Weave.Registry, k.Weave.Version)
				return weave.Objects(kubeImage, npcImage, k.PodSubnet), nil
			},
		},
		"metrics-server": metricsServer(),
		"traefik":        traefikAddon(),
		"storage":        storageAddon(),
		"prometheus":     prometheusAddon(),
		// The deck's storage chapter: node1 fetches Portworx's spec from
		// its spec service; labctl applies it and the deck's StorageClass.
		"portworx": {
			Name:    "portworx",
			Offline: "Portworx needs its spec service (install.portworx.com) and its images from the Internet",
			Spec: func(e Env) string {
				if e.Lab == nil {
					return ""
				}
				return portworx.SpecURL(e.Lab.Kubernetes.Version, portworx.ClusterName(e.Lab.Name))
			},
			Objects: func(Env) ([]kube.Object, error) { return portworx.Objects(), nil },
			Needs: func(l *lab.Lab) string {
				switch {
				case l.Nodes.PortworxSize == "0":
					return "the loop device " + portworx.Device + " on every node (nodes.portworxSize is 0)"
				case l.NodesPerCluster < 3:
					return fmt.Sprintf("3 nodes per cluster or more (Portworx's minimum; nodesPerCluster is %d)", l.NodesPerCluster)
				}
				return ""
			},
		},
	}
}

// servingCertsWait bounds the wait for every kubelet's serving certificate,
// then for the metrics API.
const servingCertsWait = 3 * time.Minute

// metricsServer is `kubectl top` and the HPA's metrics. Kubelets' serving
// certificates are verified, so kubelets get CA-signed ones and labctl
// approves the requests that match a node, on every run (new nodes,
// restarted kubelets); up waits until the metrics API is available and
// has figures for every node (what `kubectl top nodes` shows).
func metricsServer() Addon {
	return Addon{
		Name:                "metrics-server",
		Images:              []Image{{Key: "metrics-server", Upstream: metricsserver.Upstream, Build: metricsserver.Build()}},
		Objects:             func(e Env) ([]kube.Object, error) { return metricsserver.Objects(e.Image("metrics-server")), nil },
		KubeletServingCerts: true,
		Needs:               needsAWorker,
		After: func(ctx context.Context, cl *kube.Client, c ClusterInfo) error {
			if err := metricsserver.ServingCerts(ctx, cl, c.Index, c.Nodes, servingCertsWait, c.Logf); err != nil {
				return err
			}
			if err := metricsserver.Available(ctx, cl, servingCertsWait); err != nil {
				return err
			}
			var names []string
			for _, n := range c.Nodes {
				names = append(names, n.Name)
			}
			return metricsserver.EveryNode(ctx, cl, names, servingCertsWait)
		},
	}
}

// Own says whether an image is built from labctl's own module (a Build
// spec without an upstream module).
func (i Image) Own() bool { return i.Build != nil && i.Build.Module == "" }

// prometheusAddon is the metrics chapter's Prometheus server on a NodePort,
// scraping the kubelets' cAdvisor.
func prometheusAddon() Addon {
	return Addon{
		Name:    "prometheus",
		Images:  []Image{{Key: "prometheus", Upstream: prometheus.Upstream, Build: prometheus.Build()}},
		Objects: func(e Env) ([]kube.Object, error) { return prometheus.Objects(e.Image("prometheus")), nil },
		After: func(ctx context.Context, cl *kube.Client, _ ClusterInfo) error {
			return prometheus.Ready(ctx, cl, 3*time.Minute)
		},
		Needs: needsAWorker,
	}
}

// needsAWorker refuses an add-on whose pods run on workers only (they do
// not tolerate node1's control-plane taint) on a lab without workers,
// before anything changes: its readiness wait could only time out. kind
// nodes take pods.
func needsAWorker(l *lab.Lab) string {
	if l.NodesPerCluster == 1 && l.Provider.Type != "kind" {
		return fmt.Sprintf("a node that takes pods: nodesPerCluster is %d and node1 keeps its control-plane taint", l.NodesPerCluster)
	}
	return ""
}
