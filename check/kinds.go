package check

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/labctl/labctl/kube"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/labctl/labctl/remote"
)

// Env is what checks read one cluster through.
type Env struct {
	Typed   kube.Typed
	Dynamic dynamic.Interface
	// Node1 runs the one command a context check needs (nil: such checks
	// say they cannot look).
	Node1 remote.Executor
	// User is the attendee's login, whose kubeconfig a context check reads.
	User string
}

// Result is one check on one cluster: whether it passed and what it saw.
type Result struct {
	Chapter string `json:"chapter"`
	ID      string `json:"id"`
	OK      bool   `json:"ok"`
	// Saw says what the check found, passed or not.
	Saw string `json:"saw"`
	// Object is what the check looked at ("Deployment default/worker").
	Object string `json:"object,omitempty"`
}

// Eval runs one check. It never returns an error: a failed read is a
// failed check that says why.
func Eval(ctx context.Context, env Env, k Check) Result {
	r := Result{ID: k.ID}
	var ok bool
	var saw string
	var err error
	switch k.Kind {
	case "exists":
		r.Object = ref(k.Resource, k)
		ok, saw, err = exists(ctx, env, k)
	case "deployment":
		r.Object = ref("Deployment", k)
		ok, saw, err = deployment(ctx, env, k)
	case "endpoints":
		r.Object = ref("Service", k)
		ok, saw, err = endpoints(ctx, env, k)
	case "everynode":
		r.Object = fmt.Sprintf("Pods %s -l %s", k.Namespace, k.Selector)
		ok, saw, err = everyNode(ctx, env, k)
	case "netpol":
		r.Object = "NetworkPolicies " + k.Namespace
		ok, saw, err = netpol(ctx, env, k)
	case "helm":
		r.Object = "Secrets " + k.Namespace + " -l owner=helm"
		ok, saw, err = helm(ctx, env, k)
	case "context":
		r.Object = "~" + env.User + "/.kube/config on node1"
		ok, saw, err = kubeContext(ctx, env, k)
	case "mining":
		r.Object = "Service " + k.Namespace + "/webui /json"
		ok, saw, err = mining(ctx, env, k)
	default:
		err = fmt.Errorf("unknown kind %q", k.Kind)
	}
	if err != nil {
		saw = oneLine(err.Error())
	}
	r.OK, r.Saw = ok && err == nil, saw
	return r
}

func ref(kind string, k Check) string {
	what := k.Name
	if what == "" {
		what = "-l " + k.Selector
	}
	if r, ok := resources[strings.ToLower(kind)]; ok && !r.namespaced {
		return kind + " " + what
	}
	return kind + " " + k.Namespace + "/" + what
}

type resourceInfo struct {
	gvr        schema.GroupVersionResource
	namespaced bool
}

func gvr(g, v, r string, ns bool) resourceInfo {
	return resourceInfo{schema.GroupVersionResource{Group: g, Version: v, Resource: r}, ns}
}

// resources are the kinds an exists check may name (lowercase).
var resources = map[string]resourceInfo{
	"pod":                     gvr("", "v1", "pods", true),
	"service":                 gvr("", "v1", "services", true),
	"configmap":               gvr("", "v1", "configmaps", true),
	"secret":                  gvr("", "v1", "secrets", true),
	"serviceaccount":          gvr("", "v1", "serviceaccounts", true),
	"persistentvolumeclaim":   gvr("", "v1", "persistentvolumeclaims", true),
	"namespace":               gvr("", "v1", "namespaces", false),
	"node":                    gvr("", "v1", "nodes", false),
	"persistentvolume":        gvr("", "v1", "persistentvolumes", false),
	"deployment":              gvr("apps", "v1", "deployments", true),
	"daemonset":               gvr("apps", "v1", "daemonsets", true),
	"statefulset":             gvr("apps", "v1", "statefulsets", true),
	"replicaset":              gvr("apps", "v1", "replicasets", true),
	"job":                     gvr("batch", "v1", "jobs", true),
	"cronjob":                 gvr("batch", "v1", "cronjobs", true),
	"networkpolicy":           gvr("networking.k8s.io", "v1", "networkpolicies", true),
	"ingress":                 gvr("networking.k8s.io", "v1", "ingresses", true),
	"role":                    gvr("rbac.authorization.k8s.io", "v1", "roles", true),
	"rolebinding":             gvr("rbac.authorization.k8s.io", "v1", "rolebindings", true),
	"clusterrole":             gvr("rbac.authorization.k8s.io", "v1", "clusterroles", false),
	"clusterrolebinding":      gvr("rbac.authorization.k8s.io", "v1", "clusterrolebindings", false),
	"storageclass":            gvr("storage.k8s.io", "v1", "storageclasses", false),
	"horizontalpodautoscaler": gvr("autoscaling", "v2", "horizontalpodautoscalers", true),
}

func resourceNames() string {
	var n []string
	for k := range resources {
		n = append(n, k)
	}
	slices.Sort(n)
	return strings.Join(n, ", ")
}

func exists(ctx context.Context, env Env, k Check) (bool, string, error) {
	info := resources[strings.ToLower(k.Resource)]
	var ri dynamic.ResourceInterface = env.Dynamic.Resource(info.gvr)
	if info.namespaced {
		ri = env.Dynamic.Resource(info.gvr).Namespace(k.Namespace)
	}
	label := strings.ToLower(k.Resource)
	if k.Name != "" {
		_, err := ri.Get(ctx, k.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, fmt.Sprintf("%s %s: not found", label, k.Name), nil
		}
		if err != nil {
			return false, "", err
		}
		return true, fmt.Sprintf("%s %s exists", label, k.Name), nil
	}
	list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: k.Selector})
	if err != nil {
		return false, "", err
	}
	if n := len(list.Items); n > 0 {
		return true, fmt.Sprintf("%d %s with %s (%s...)", n, plural(label, n), k.Selector, list.Items[0].GetName()), nil
	}
	return false, fmt.Sprintf("no %s with %s", plural(label, 2), k.Selector), nil
}

func plural(s string, n int) string {
	if n == 1 {
		return s
	}
	if strings.HasSuffix(s, "s") {
		return s + "es"
	}
	if strings.HasSuffix(s, "y") {
		return strings.TrimSuffix(s, "y") + "ies"
	}
	return s + "s"
}

func deployment(ctx context.Context, env Env, k Check) (bool, string, error) {
	d, err := env.Typed.AppsV1().Deployments(k.Namespace).Get(ctx, k.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, fmt.Sprintf("deployment %s: not found", k.Name), nil
	}
	if err != nil {
		return false, "", err
	}
	want := max(k.Replicas, 1)
	ready := int(d.Status.ReadyReplicas)
	// Ready replicas of an older template do not count for the image.
	if k.Image != "" {
		if img := imageOf(d); !strings.Contains(img, k.Image) {
			return false, fmt.Sprintf("deployment %s: image %s, want %s", k.Name, img, k.Image), nil
		}
		ready = int(min(d.Status.ReadyReplicas, d.Status.UpdatedReplicas))
	}
	if k.Probe != "" && !hasProbe(d, k.Probe) {
		return false, fmt.Sprintf("deployment %s: no %s probe", k.Name, k.Probe), nil
	}
	if ready < want {
		return false, fmt.Sprintf("deployment %s: %d ready %s, want %d", k.Name, ready, plural("replica", ready), want), nil
	}
	return true, fmt.Sprintf("deployment %s: %d ready %s", k.Name, ready, plural("replica", ready)), nil
}

func imageOf(d *appsv1.Deployment) string {
	var imgs []string
	for _, c := range d.Spec.Template.Spec.Containers {
		imgs = append(imgs, c.Image)
	}
	return strings.Join(imgs, ",")
}

func hasProbe(d *appsv1.Deployment, probe string) bool {
	for _, c := range d.Spec.Template.Spec.Containers {
		if probe == "liveness" && c.LivenessProbe != nil || probe == "readiness" && c.ReadinessProbe != nil {
			return true
		}
	}
	return false
}

func endpoints(ctx context.Context, env Env, k Check) (bool, string, error) {
	if _, err := env.Typed.CoreV1().Services(k.Namespace).Get(ctx, k.Name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return false, fmt.Sprintf("service %s: not found", k.Name), nil
	} else if err != nil {
		return false, "", err
	}
	slices, err := env.Typed.DiscoveryV1().EndpointSlices(k.Namespace).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + k.Name})
	if err != nil {
		return false, "", err
	}
	seen := map[string]bool{}
	for _, s := range slices.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			for _, a := range e.Addresses {
				seen[a] = true
			}
		}
	}
	n, want := len(seen), max(k.Endpoints, 1)
	if n < want {
		return false, fmt.Sprintf("service %s: %d ready %s, want %d", k.Name, n, plural("endpoint", n), want), nil
	}
	return true, fmt.Sprintf("service %s: %d ready %s", k.Name, n, plural("endpoint", n)), nil
}

// everyNode wants a running pod of the selector on every Ready node that
// takes pods (a NoSchedule taint, like node1's, exempts a node).
func everyNode(ctx context.Context, env Env, k Check) (bool, string, error) {
	nodes, err := env.Typed.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, "", err
	}
	pods, err := env.Typed.CoreV1().Pods(k.Namespace).List(ctx, metav1.ListOptions{LabelSelector: k.Selector})
	if err != nil {
		return false, "", err
	}
	on := map[string]bool{}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning {
			on[p.Spec.NodeName] = true
		}
	}
	var missing []string
	want := 0
	for _, n := range nodes.Items {
		if tainted(&n) {
			continue
		}
		want++
		if !on[n.Name] {
			missing = append(missing, n.Name)
		}
	}
	if len(missing) > 0 {
		return false, fmt.Sprintf("pods %s: none running on %s", k.Selector, strings.Join(missing, ", ")), nil
	}
	return true, fmt.Sprintf("pods %s: running on all %d %s", k.Selector, want, plural("node", want)), nil
}

func tainted(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return true
		}
	}
	return n.Spec.Unschedulable
}

// netpol wants a NetworkPolicy (named, or any) selecting a pod of the selector.
func netpol(ctx context.Context, env Env, k Check) (bool, string, error) {
	pods, err := env.Typed.CoreV1().Pods(k.Namespace).List(ctx, metav1.ListOptions{LabelSelector: k.Selector})
	if err != nil {
		return false, "", err
	}
	if len(pods.Items) == 0 {
		return false, fmt.Sprintf("no pod with %s in %s", k.Selector, k.Namespace), nil
	}
	pols, err := env.Typed.NetworkingV1().NetworkPolicies(k.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, "", err
	}
	for _, p := range pols.Items {
		if k.Name != "" && p.Name != k.Name {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
		if err != nil {
			continue
		}
		for _, pod := range pods.Items {
			if sel.Matches(labels.Set(pod.Labels)) {
				return true, fmt.Sprintf("networkpolicy %s selects pod %s", p.Name, pod.Name), nil
			}
		}
	}
	if k.Name != "" {
		return false, fmt.Sprintf("no networkpolicy %s selecting a pod with %s (%d %s in %s)", k.Name, k.Selector, len(pols.Items), plural("policy", len(pols.Items)), k.Namespace), nil
	}
	return false, fmt.Sprintf("no networkpolicy selects a pod with %s (%d %s in %s)", k.Selector, len(pols.Items), plural("policy", len(pols.Items)), k.Namespace), nil
}

// helm reads Helm 3's release records: Secrets labelled owner=helm, one
// per revision, whose status label is "deployed" for the live one.
func helm(ctx context.Context, env Env, k Check) (bool, string, error) {
	sel := "owner=helm"
	if k.Name != "" {
		sel += ",name=" + k.Name
	}
	list, err := env.Typed.CoreV1().Secrets(k.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return false, "", err
	}
	what := "helm release " + k.Name
	if k.Name == "" {
		what = "helm releases"
	}
	if len(list.Items) == 0 {
		return false, fmt.Sprintf("%s: none in %s", what, k.Namespace), nil
	}
	var statuses []string
	for _, s := range list.Items {
		if s.Labels["status"] == "deployed" {
			return true, fmt.Sprintf("helm release %s: deployed (revision %s)", s.Labels["name"], s.Labels["version"]), nil
		}
		statuses = append(statuses, s.Labels["name"]+" revision "+s.Labels["version"]+" "+s.Labels["status"])
	}
	slices.Sort(statuses)
	return false, fmt.Sprintf("%s: none deployed (%s)", what, strings.Join(statuses, ", ")), nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
