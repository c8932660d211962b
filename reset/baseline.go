// Package reset puts a cluster back to the baseline recorded at the end of
// a successful `labctl up`: the API objects labctl and kubeadm made (by
// kind, namespace, name and UID, found through discovery so that CRDs
// count), the nodes' labels, taints and schedulability, and on every node
// the attendee's home directory, the preloaded images and /tmp.
//
// A soft reset deletes what attendees added, restores what they changed or
// deleted among the baseline's own objects, and cleans the nodes, without
// rebuilding the control plane.
package reset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
)

// Object is one API object of a snapshot.
type Object struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version"`
	Resource  string `json:"resource"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
	// Owned objects (ReplicaSets, Pods, ...) come and go with their owner:
	// the garbage collector deletes them, controllers make them again.
	Owned bool `json:"owned,omitempty"`
	// Owners are the UIDs of its owners, to tell an attendee's Pods from
	// those of the baseline's controllers.
	Owners []string `json:"owners,omitempty"`
	// Controller is the UID of the owner reference marked controller, if
	// any: the object a controller made it for (a Deployment's ReplicaSet).
	Controller string `json:"controller,omitempty"`
	// Body is the object without status and server-set metadata, kept for
	// the kinds a reset re-creates or puts back (see restorable).
	Body map[string]any `json:"body,omitempty"`
}

// key names an object across versions of its kind.
func (o Object) key() string {
	return o.Resource + "." + o.Group + " " + o.Namespace + "/" + o.Name
}

// GVR is the object's resource.
func (o Object) GVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: o.Group, Version: o.Version, Resource: o.Resource}
}

func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// NodeState is what attendees change on a Node object.
type NodeState struct {
	Labels        map[string]string `json:"labels,omitempty"`
	Taints        []corev1.Taint    `json:"taints,omitempty"`
	Unschedulable bool              `json:"unschedulable,omitempty"`
}

// Snapshot is a cluster's API state as a reset sees it.
type Snapshot struct {
	Objects []Object             `json:"objects"`
	Nodes   map[string]NodeState `json:"nodes"`
	// Unavailable are the API groups (group/version) whose discovery
	// failed, an aggregated API that is down: their objects were not
	// listed. A reset goes on without them (and deletes the APIService of
	// one that is not the baseline's); a baseline is never taken so.
	Unavailable []string `json:"-"`
}

// Baseline is a cluster as `labctl up` left it.
type Baseline struct {
	Cluster int       `json:"cluster"`
	At      time.Time `json:"at"`
	// Lab and KubeSystemUID say whose baseline it is: a reset compares
	// them with the lab and the live cluster before using it.
	Lab string `json:"lab,omitempty"`
	// Format is the node fingerprints' and files' format (Format).
	Format        int    `json:"format,omitempty"`
	KubeSystemUID string `json:"kubeSystemUID,omitempty"`
	Snapshot
	// NodeFingerprints is, per node, what the node script printed about
	// the home directory and images when the baseline was recorded.
	NodeFingerprints map[string]string `json:"nodeFingerprints"`
	// Addons is the add-ons digest of the up that recorded it: an up that
	// applies other add-ons records the baseline again.
	Addons string `json:"addons,omitempty"`
}

// restorable are the kinds a reset re-creates when deleted and puts back
// when changed: the workloads, configuration and access rules labctl's
// add-ons, DockerCoins and kubeadm install. Other kinds are only kept.
var restorable = map[string]bool{
	"/namespaces": true, "/configmaps": true, "/services": true, "/serviceaccounts": true,
	"apps/deployments": true, "apps/daemonsets": true, "apps/statefulsets": true,
	"rbac.authorization.k8s.io/clusterroles": true, "rbac.authorization.k8s.io/clusterrolebindings": true,
	"rbac.authorization.k8s.io/roles": true, "rbac.authorization.k8s.io/rolebindings": true,
	"networking.k8s.io/networkpolicies": true, "storage.k8s.io/storageclasses": true,
}

// ignored kinds are never deleted: records (events), heartbeats (leases)
// that components make under new names, and nodes, which a reset edits.
var ignored = map[string]bool{
	"/events": true, "events.k8s.io/events": true, "coordination.k8s.io/leases": true, "/nodes": true,
}

func isRestorable(group, resource string) bool { return restorable[group+"/"+resource] }

// Take lists every object of every deletable kind, and the nodes.
func Take(ctx context.Context, cl *kube.Client) (Snapshot, error) {
	cl, err := quiet(cl)
	if err != nil {
		return Snapshot{}, err
	}
	return take(ctx, cl, cl.Typed.Discovery())
}

// quiet is cl without the API server's warnings: listing every kind reads
// deprecated ones (v1 Endpoints) too, which is no news to the instructor.
func quiet(cl *kube.Client) (*kube.Client, error) {
	if cl.Config == nil {
		return cl, nil // a fake
	}
	cfg := rest.CopyConfig(cl.Config)
	cfg.WarningHandler = rest.NoWarnings{}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	q := *cl
	q.Dynamic = dyn
	return &q, nil
}

func take(ctx context.Context, cl *kube.Client, d kube.Discovery) (Snapshot, error) {
	res, err := kube.Deletable(d)
	s := Snapshot{Nodes: map[string]NodeState{}}
	var failed *kube.GroupDiscoveryFailed
	switch {
	case err == nil:
	case len(res) > 0 && errors.As(err, &failed):
		// One aggregated API down must not stop the listing of the rest:
		// its APIService is what a reset deletes first.
		for gv := range failed.Groups {
			s.Unavailable = append(s.Unavailable, gv.String())
		}
		slices.Sort(s.Unavailable)
	default:
		return Snapshot{}, fmt.Errorf("%s: %w", cl.Name, err)
	}
	for _, r := range res {
		if ignored[r.GVR.Group+"/"+r.GVR.Resource] {
			continue
		}
		items, lerr := cl.ListAll(ctx, r)
		if lerr != nil {
			return Snapshot{}, lerr
		}
		for _, it := range items {
			s.Objects = append(s.Objects, objectOf(r, it))
		}
	}
	nodes, nerr := cl.Typed.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if nerr != nil {
		return Snapshot{}, fmt.Errorf("%s: list nodes: %w", cl.Name, nerr)
	}
	for _, n := range nodes.Items {
		s.Nodes[n.Name] = NodeState{Labels: n.Labels, Taints: attendeeTaints(n.Spec.Taints), Unschedulable: n.Spec.Unschedulable}
	}
	return s, nil
}

func objectOf(r kube.Resource, it unstructured.Unstructured) Object {
	o := Object{
		Group: r.GVR.Group, Version: r.GVR.Version, Resource: r.GVR.Resource, Kind: r.Kind,
		Namespace: it.GetNamespace(), Name: it.GetName(), UID: string(it.GetUID()),
		Owned: len(it.GetOwnerReferences()) > 0,
	}
	for _, ref := range it.GetOwnerReferences() {
		o.Owners = append(o.Owners, string(ref.UID))
		if ref.Controller != nil && *ref.Controller {
			o.Controller = string(ref.UID)
		}
	}
	if isRestorable(r.GVR.Group, r.GVR.Resource) && !o.Owned {
		o.Body = bodyOf(it)
	}
	return o
}

// bodyOf is it as a create would send it: no status, and of the metadata
// only name, namespace, labels and annotations.
func bodyOf(it unstructured.Unstructured) map[string]any {
	b := it.DeepCopy().Object
	delete(b, "status")
	md := map[string]any{"name": it.GetName()}
	if ns := it.GetNamespace(); ns != "" {
		md["namespace"] = ns
	}
	if l := it.GetLabels(); len(l) > 0 {
		md["labels"] = toAny(l)
	}
	if a := it.GetAnnotations(); len(a) > 0 {
		md["annotations"] = toAny(a)
	}
	b["metadata"] = md
	return b
}

func toAny(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// attendeeTaints drops the taints the node lifecycle controller sets and
// clears by itself (node.kubernetes.io/not-ready, unreachable, ...).
func attendeeTaints(ts []corev1.Taint) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range ts {
		if len(t.Key) > len("node.kubernetes.io/") && t.Key[:len("node.kubernetes.io/")] == "node.kubernetes.io/" {
			continue
		}
		t.TimeAdded = nil
		out = append(out, t)
	}
	return out
}

// Path is where cluster c's baseline lives in the state directory.
func Path(stateDir string, c int) string {
	return filepath.Join(stateDir, "baseline", fmt.Sprintf("cluster-%02d.json", c))
}

// Save writes b (0600: ConfigMaps may hold credentials).
func Save(stateDir string, b *Baseline) error {
	if err := os.MkdirAll(filepath.Join(stateDir, "baseline"), 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(b, "", " ")
	if err != nil {
		return err
	}
	return lab.WriteFileAtomic(Path(stateDir, b.Cluster), data, 0o600)
}

// find returns the object with o's key in objs.
func find(objs []Object, key string) (Object, bool) {
	i := slices.IndexFunc(objs, func(x Object) bool { return x.key() == key })
	if i < 0 {
		return Object{}, false
	}
	return objs[i], true
}
