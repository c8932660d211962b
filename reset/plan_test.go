package reset

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/labctl/labctl/kube"

	"github.com/labctl/labctl/kube/kubefake"
)

// preferred is client-go's fake discovery answering the preferred
// resources from its Resources (the fake's own answers nothing).
type preferred struct{ *fakediscovery.FakeDiscovery }

func (p preferred) ServerPreferredResources() ([]*metav1.APIResourceList, error) {
	return p.Resources, nil
}

var verbs = metav1.Verbs{"list", "delete", "get", "create", "update"}

// served is what the fake cluster's discovery lists.
var served = []*metav1.APIResourceList{
	{GroupVersion: "v1", APIResources: []metav1.APIResource{
		{Name: "namespaces", Kind: "Namespace", Verbs: verbs},
		{Name: "configmaps", Kind: "ConfigMap", Namespaced: true, Verbs: verbs},
		{Name: "pods", Kind: "Pod", Namespaced: true, Verbs: verbs},
		{Name: "pods/log", Kind: "Pod", Namespaced: true, Verbs: metav1.Verbs{"get"}},
		{Name: "persistentvolumes", Kind: "PersistentVolume", Verbs: verbs},
		{Name: "events", Kind: "Event", Namespaced: true, Verbs: verbs},
		{Name: "componentstatuses", Kind: "ComponentStatus", Verbs: metav1.Verbs{"list", "get"}},
	}},
	{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
		{Name: "deployments", Kind: "Deployment", Namespaced: true, Verbs: verbs},
		{Name: "daemonsets", Kind: "DaemonSet", Namespaced: true, Verbs: verbs},
		{Name: "replicasets", Kind: "ReplicaSet", Namespaced: true, Verbs: verbs},
	}},
	{GroupVersion: "rbac.authorization.k8s.io/v1", APIResources: []metav1.APIResource{
		{Name: "clusterroles", Kind: "ClusterRole", Verbs: verbs},
	}},
	{GroupVersion: "apiextensions.k8s.io/v1", APIResources: []metav1.APIResource{
		{Name: "customresourcedefinitions", Kind: "CustomResourceDefinition", Verbs: verbs},
	}},
	{GroupVersion: "admissionregistration.k8s.io/v1", APIResources: []metav1.APIResource{
		{Name: "validatingwebhookconfigurations", Kind: "ValidatingWebhookConfiguration", Verbs: verbs},
	}},
	{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{
		{Name: "widgets", Kind: "Widget", Namespaced: true, Verbs: verbs},
	}},
}

var listKinds = map[schema.GroupVersionResource]string{}

func init() {
	for _, l := range served {
		gv, _ := schema.ParseGroupVersion(l.GroupVersion)
		for _, r := range l.APIResources {
			listKinds[gv.WithResource(r.Name)] = r.Kind + "List"
		}
	}
}

var uids int

func obj(apiVersion, kind, ns, name string, fields map[string]any, owners ...string) *unstructured.Unstructured {
	uids++
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind}}
	for k, v := range fields {
		u.Object[k] = v
	}
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetUID(types.UID(strings.Repeat("u", 3) + string(rune('a'+uids%26)) + strings.Repeat("x", uids/26) + name))
	var refs []metav1.OwnerReference
	for _, o := range owners {
		refs = append(refs, metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "owner", UID: types.UID(o)})
	}
	u.SetOwnerReferences(refs)
	return u
}

func replicas(n int64) map[string]any {
	return map[string]any{"spec": map[string]any{"replicas": n, "template": map[string]any{}}}
}

// fakeCluster is a kubeadm cluster just after up: namespaces, CoreDNS,
// kube-proxy, a ConfigMap, two nodes (node1 with the control-plane taint).
func fakeCluster(t *testing.T) (*kube.Client, preferred) {
	t.Helper()
	coredns := obj("apps/v1", "Deployment", "kube-system", "coredns", replicas(2))
	rs := obj("apps/v1", "ReplicaSet", "kube-system", "coredns-abc", nil, string(coredns.GetUID()))
	objs := []runtime.Object{
		obj("v1", "Namespace", "", "default", nil),
		obj("v1", "Namespace", "", "kube-system", nil),
		coredns, rs,
		obj("v1", "Pod", "kube-system", "coredns-abc-1", nil, string(rs.GetUID())),
		obj("apps/v1", "DaemonSet", "kube-system", "kube-proxy", map[string]any{"spec": map[string]any{"template": map[string]any{"spec": "x"}}}),
		obj("v1", "ConfigMap", "kube-system", "coredns", map[string]any{"data": map[string]any{"Corefile": ".:53 {}"}}),
		obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", "view", map[string]any{"rules": []any{}}),
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, objs...)
	typed := k8sfake.NewSimpleClientset(
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1", Labels: map[string]string{"kubernetes.io/hostname": "node1"}},
			Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node2", Labels: map[string]string{"kubernetes.io/hostname": "node2"}}},
	)
	d := preferred{typed.Discovery().(*fakediscovery.FakeDiscovery)}
	d.Resources = served
	return &kube.Client{Name: "01/node1", Typed: kubefake.Typed(typed), Dynamic: dyn}, d
}

func create(t *testing.T, cl *kube.Client, gvr schema.GroupVersionResource, u *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	var err error
	var got *unstructured.Unstructured
	if ns := u.GetNamespace(); ns != "" {
		got, err = cl.Dynamic.Resource(gvr).Namespace(ns).Create(context.Background(), u, metav1.CreateOptions{})
	} else {
		got, err = cl.Dynamic.Resource(gvr).Create(context.Background(), u, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	return got
}

var (
	nsGVR     = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	podGVR    = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	cmGVR     = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	pvGVR     = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumes"}
	eventGVR  = schema.GroupVersionResource{Version: "v1", Resource: "events"}
	deployGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	dsGVR     = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}
	rsGVR     = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	crGVR     = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}
	crdGVR    = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	hookGVR   = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"}
	widgetGVR = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
)

// mess does to the fake cluster what an attendee does in class.
func mess(t *testing.T, cl *kube.Client) {
	ctx := context.Background()
	create(t, cl, nsGVR, obj("v1", "Namespace", "", "messy", nil))
	create(t, cl, deployGVR, obj("apps/v1", "Deployment", "messy", "web", replicas(3)))
	create(t, cl, podGVR, obj("v1", "Pod", "messy", "web-1", nil, "some-rs"))
	stray := create(t, cl, deployGVR, obj("apps/v1", "Deployment", "default", "stray", replicas(1)))
	strayRS := create(t, cl, rsGVR, obj("apps/v1", "ReplicaSet", "default", "stray-1", nil, string(stray.GetUID())))
	create(t, cl, podGVR, obj("v1", "Pod", "default", "stray-1-a", nil, string(strayRS.GetUID())))
	create(t, cl, podGVR, obj("v1", "Pod", "default", "bare", nil))
	create(t, cl, eventGVR, obj("v1", "Event", "default", "bare.123", nil))
	create(t, cl, crdGVR, obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.example.com", nil))
	create(t, cl, widgetGVR, obj("example.com/v1", "Widget", "default", "held", nil))
	create(t, cl, crGVR, obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", "attendee-role", nil))
	create(t, cl, pvGVR, obj("v1", "PersistentVolume", "", "attendee-pv", nil))
	create(t, cl, hookGVR, obj("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "", "deny-everything", nil))
	// CoreDNS scaled to 0, kube-proxy deleted, the CoreDNS ConfigMap edited.
	dep, _ := cl.Dynamic.Resource(deployGVR).Namespace("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	unstructured.SetNestedField(dep.Object, int64(0), "spec", "replicas")
	if _, err := cl.Dynamic.Resource(deployGVR).Namespace("kube-system").Update(ctx, dep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cl.Dynamic.Resource(dsGVR).Namespace("kube-system").Delete(ctx, "kube-proxy", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cm, _ := cl.Dynamic.Resource(cmGVR).Namespace("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	unstructured.SetNestedField(cm.Object, "broken", "data", "Corefile")
	cl.Dynamic.Resource(cmGVR).Namespace("kube-system").Update(ctx, cm, metav1.UpdateOptions{})
	// node2: cordoned, tainted, labelled.
	n, _ := cl.Typed.CoreV1().Nodes().Get(ctx, "node2", metav1.GetOptions{})
	n.Labels["color"] = "blue"
	n.Spec.Unschedulable = true
	n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "lab", Value: "messy", Effect: corev1.TaintEffectNoSchedule},
		corev1.Taint{Key: "node.kubernetes.io/unschedulable", Effect: corev1.TaintEffectNoSchedule})
	cl.Typed.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
}

func names(objs []Object) []string {
	var s []string
	for _, o := range objs {
		s = append(s, o.String())
	}
	return s
}

func TestDiffNamesWhatAttendeesAddedChangedAndDeleted(t *testing.T) {
	ctx := context.Background()
	cl, d := fakeCluster(t)
	base, err := take(ctx, cl, d)
	if err != nil {
		t.Fatal(err)
	}
	if p := Diff(base, base); !p.Empty() {
		t.Fatalf("a cluster differs from itself: %+v", p)
	}
	mess(t, cl)
	cur, err := take(ctx, cl, d)
	if err != nil {
		t.Fatal(err)
	}
	p := Diff(base, cur)
	// Webhooks first, then namespaces, then the rest; nothing inside a
	// deleted namespace or CRD, nothing owned, no events.
	want := []string{"ValidatingWebhookConfiguration/deny-everything", "Namespace/messy",
		"CustomResourceDefinition/widgets.example.com", "PersistentVolume/attendee-pv", "Pod default/bare",
		"ClusterRole/attendee-role", "Deployment default/stray"}
	if got := names(p.Delete); strings.Join(sorted(got[2:]), ",") != strings.Join(sorted(want[2:]), ",") || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("delete:\n got %v\nwant %v", got, want)
	}
	if got := strings.Join(sorted(names(p.Pods)), ","); got != "Pod default/bare,Pod default/stray-1-a,Pod messy/web-1" {
		t.Errorf("pods to stop: %s", got)
	}
	if got := strings.Join(names(p.Create), ","); got != "DaemonSet kube-system/kube-proxy" {
		t.Errorf("create: %s", got)
	}
	if got := strings.Join(sorted(names(p.Update)), ","); got != "ConfigMap kube-system/coredns,Deployment kube-system/coredns" {
		t.Errorf("update: %s", got)
	}
	if len(p.Nodes) != 1 || p.Nodes["node2"].Unschedulable || len(p.Nodes["node2"].Taints) != 0 || p.Nodes["node2"].Labels["color"] != "" {
		t.Errorf("nodes: %+v", p.Nodes)
	}
	var b bytes.Buffer
	p.Print(&b, 1)
	for _, line := range []string{"cluster 01: delete Namespace/messy\n", "cluster 01: re-create DaemonSet kube-system/kube-proxy\n",
		"cluster 01: restore Deployment kube-system/coredns\n", "cluster 01: stop Pod default/stray-1-a\n", "node node2 back"} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("the dry run does not say %q:\n%s", line, b.String())
		}
	}
}

func TestApplyPutsTheClusterBack(t *testing.T) {
	ctx := context.Background()
	cl, d := fakeCluster(t)
	base, err := take(ctx, cl, d)
	if err != nil {
		t.Fatal(err)
	}
	mess(t, cl)
	cur, _ := take(ctx, cl, d)
	var log bytes.Buffer
	a := &API{Client: cl, Grace: time.Second, Logf: func(f string, x ...any) { log.WriteString(f) }}
	if err := a.Apply(ctx, Diff(base, cur)); err != nil {
		t.Fatal(err)
	}
	after, _ := take(ctx, cl, d)
	// The fake has no namespace controller nor CRD cleanup: what lived in
	// messy and the Widget stay; the rest is back.
	left := Diff(base, after)
	if got := strings.Join(sorted(names(left.Delete)), ","); got != "Deployment messy/web,Widget default/held" {
		t.Errorf("left after the reset: %s", got)
	}
	if len(left.Create)+len(left.Update)+len(left.Nodes) != 0 {
		t.Errorf("not restored: create %v update %v nodes %v", names(left.Create), names(left.Update), left.Nodes)
	}
	dep, _ := cl.Dynamic.Resource(deployGVR).Namespace("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	if r, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas"); r != 2 {
		t.Errorf("coredns replicas %d", r)
	}
	n, _ := cl.Typed.CoreV1().Nodes().Get(ctx, "node2", metav1.GetOptions{})
	// The lifecycle controller's own taint stays: it removes it itself.
	if n.Spec.Unschedulable || n.Labels["color"] != "" || len(n.Spec.Taints) != 1 || n.Spec.Taints[0].Key != "node.kubernetes.io/unschedulable" {
		t.Errorf("node2: %+v %+v", n.Labels, n.Spec)
	}
	n1, _ := cl.Typed.CoreV1().Nodes().Get(ctx, "node1", metav1.GetOptions{})
	if len(n1.Spec.Taints) != 1 {
		t.Errorf("node1 lost its control-plane taint: %+v", n1.Spec.Taints)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// A baseline read back from the state directory equals the cluster it was
// taken from (JSON turns its numbers into float64).
func TestSavedBaselineEqualsTheCluster(t *testing.T) {
	ctx := context.Background()
	cl, d := fakeCluster(t)
	snap, err := take(ctx, cl, d)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Save(dir, &Baseline{Cluster: 3, Snapshot: snap, Format: Format}); err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if p := Diff(b.Snapshot, snap); !p.Empty() {
		var out bytes.Buffer
		p.Print(&out, 3)
		t.Errorf("a saved baseline differs from its cluster:\n%s", out.String())
	}
	if _, err := Load(dir, 4); err == nil || !strings.Contains(err.Error(), "cluster 04 has no baseline") {
		t.Errorf("a missing baseline: %v", err)
	}
}

// A finalizer an attendee left holds its object, and the objects inside a
// namespace hold the namespace, as on an API server (emulated on the fake:
// a held object goes when it is read with no finalizer left). The reset
// waits Grace, then removes the finalizers of the held objects, says so,
// and leaves the namespace's own finalization alone.
func TestApplyForcesFinalizersAfterGrace(t *testing.T) {
	ctx := context.Background()
	cl, d := fakeCluster(t)
	base, _ := take(ctx, cl, d)
	create(t, cl, nsGVR, obj("v1", "Namespace", "", "messy", nil))
	held := obj("v1", "ConfigMap", "default", "held", nil)
	held.SetFinalizers([]string{"example.com/hold"})
	create(t, cl, cmGVR, held)
	widget := obj("example.com/v1", "Widget", "messy", "w", nil)
	widget.SetFinalizers([]string{"example.com/hold"})
	create(t, cl, widgetGVR, widget)
	fake := cl.Dynamic.(*dynamicfake.FakeDynamicClient)
	tracker := fake.Tracker()
	deleting := map[string]bool{}
	held2 := func(gvr schema.GroupVersionResource, ns, name string) bool {
		o, err := tracker.Get(gvr, ns, name)
		if err != nil {
			return false
		}
		if gvr == nsGVR {
			w, err := tracker.Get(widgetGVR, name, "w")
			if err != nil {
				return false
			}
			if deleting["widgets/messy/w"] && len(w.(*unstructured.Unstructured).GetFinalizers()) == 0 {
				tracker.Delete(widgetGVR, name, "w")
				return false
			}
			return true
		}
		return len(o.(*unstructured.Unstructured).GetFinalizers()) > 0
	}
	fake.PrependReactor("delete", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		d := a.(k8stesting.DeleteAction)
		if held2(d.GetResource(), d.GetNamespace(), d.GetName()) {
			deleting[d.GetResource().Resource+"/"+d.GetNamespace()+"/"+d.GetName()] = true
			return true, nil, nil // kept, being deleted
		}
		return false, nil, nil
	})
	fake.PrependReactor("get", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		g := a.(k8stesting.GetAction)
		key := g.GetResource().Resource + "/" + g.GetNamespace() + "/" + g.GetName()
		if deleting[key] && !held2(g.GetResource(), g.GetNamespace(), g.GetName()) {
			tracker.Delete(g.GetResource(), g.GetNamespace(), g.GetName())
			delete(deleting, key)
		}
		return false, nil, nil
	})
	// The namespace controller: the Widget is deleted with its namespace.
	fake.PrependReactor("delete", "namespaces", func(a k8stesting.Action) (bool, runtime.Object, error) {
		deleting["widgets/messy/w"] = true
		return false, nil, nil
	})

	cur, _ := take(ctx, cl, d)
	var log bytes.Buffer
	a := &API{Client: cl, Grace: 1500 * time.Millisecond, Discovery: d, Logf: func(f string, x ...any) { fmt.Fprintf(&log, f, x...) }}
	start := time.Now()
	if err := a.Apply(ctx, Diff(base, cur)); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if took := time.Since(start); took < a.Grace {
		t.Errorf("forced after %s, before the grace of %s", took, a.Grace)
	}
	for _, want := range []string{
		"01/node1: Namespace/messy still there after 1.5s: removed 1 finalizers of what it held to force it\n",
		"01/node1: ConfigMap default/held still there after 1.5s: removed 1 finalizers to force it\n",
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the reset does not say %q:\n%s", want, log.String())
		}
	}
	for _, o := range []struct {
		gvr      schema.GroupVersionResource
		ns, name string
	}{{nsGVR, "", "messy"}, {cmGVR, "default", "held"}, {widgetGVR, "messy", "w"}} {
		if _, err := tracker.Get(o.gvr, o.ns, o.name); err == nil {
			t.Errorf("%s %s/%s is still there", o.gvr.Resource, o.ns, o.name)
		}
	}
}

// The bootstrap signer's signatures in cluster-info come and go with join
// tokens: not a change to undo. Anything else in it is.
func TestDiffLeavesClusterInfoSignaturesAlone(t *testing.T) {
	info := func(data map[string]any) Snapshot {
		return Snapshot{Objects: []Object{{Resource: "configmaps", Namespace: "kube-public", Name: "cluster-info",
			Body: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": data}}}}
	}
	base := info(map[string]any{"kubeconfig": "k1", "jws-kubeconfig-abcdef": "sig1"})
	if p := Diff(base, info(map[string]any{"kubeconfig": "k1", "jws-kubeconfig-123456": "sig2"})); !p.Empty() {
		t.Errorf("a new join token's signature is a change to undo: %+v", p.Update)
	}
	if p := Diff(base, info(map[string]any{"kubeconfig": "k2"})); len(p.Update) != 1 {
		t.Errorf("a changed kubeconfig in cluster-info is not restored: %+v", p)
	}
}
