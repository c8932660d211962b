package reset

import (
	"slices"
	"strings"
	"testing"
)

func o(group, resource, kind, ns, name, uid, controller string, owners ...string) Object {
	return Object{Group: group, Version: "v1", Resource: resource, Kind: kind, Namespace: ns, Name: name, UID: uid,
		Owned: len(owners) > 0, Owners: owners, Controller: controller}
}

// An ownerReference protects nothing by itself (issue 17, finding 3): a
// ClusterRoleBinding making system:anonymous cluster-admin and a bare Pod,
// both "owned" by the baseline's ClusterRole cluster-admin, go; so do an
// object owned by nothing that exists, a static Pod's mirror (owned by its
// Node), and a cycle of owners. What a baseline controller makes of its own
// kinds stays, and what an owner that goes owns is left to the garbage
// collector.
func TestDiffOwnerReferencesProtectNothing(t *testing.T) {
	const rbac = "rbac.authorization.k8s.io"
	base := Snapshot{Objects: []Object{
		o("", "namespaces", "Namespace", "", "kube-system", "ns-ks", ""),
		o(rbac, "clusterroles", "ClusterRole", "", "cluster-admin", "cr-admin", ""),
		o("apps", "deployments", "Deployment", "kube-system", "coredns", "dep-coredns", ""),
		o("apps", "replicasets", "ReplicaSet", "kube-system", "coredns-abc", "rs-abc", "dep-coredns", "dep-coredns"),
		o("", "pods", "Pod", "kube-system", "kube-apiserver-node1", "mirror-api", "node1-uid", "node1-uid"),
		o("", "services", "Service", "kube-system", "kube-dns", "svc-dns", ""),
		o("batch", "cronjobs", "CronJob", "kube-system", "tidy", "cj-tidy", ""),
	}}
	cur := Snapshot{Objects: append(slices.Clone(base.Objects),
		// The attack: owner references to a baseline object.
		o(rbac, "clusterrolebindings", "ClusterRoleBinding", "", "anonymous-admin", "crb-evil", "cr-admin", "cr-admin"),
		o("", "pods", "Pod", "default", "bare", "pod-evil", "cr-admin", "cr-admin"),
		// Owned by something that does not exist.
		o("", "configmaps", "ConfigMap", "default", "orphan", "cm-orphan", "", "no-such-uid"),
		// A static Pod an attendee added: its mirror is owned by the Node.
		o("", "pods", "Pod", "kube-system", "evil-node1", "mirror-evil", "node1-uid", "node1-uid"),
		// A controller cycle nobody made.
		o("", "configmaps", "ConfigMap", "default", "a", "cm-a", "cm-b", "cm-b"),
		o("", "configmaps", "ConfigMap", "default", "b", "cm-b", "cm-a", "cm-a"),
		// A baseline controller's own work: stays.
		o("apps", "replicasets", "ReplicaSet", "kube-system", "coredns-def", "rs-def", "dep-coredns", "dep-coredns"),
		o("", "pods", "Pod", "kube-system", "coredns-def-1", "pod-def", "rs-def", "rs-def"),
		o("discovery.k8s.io", "endpointslices", "EndpointSlice", "kube-system", "kube-dns-x1", "es-dns", "svc-dns", "svc-dns"),
		o("batch", "jobs", "Job", "kube-system", "tidy-123", "job-tidy", "cj-tidy", "cj-tidy"),
		o("", "pods", "Pod", "kube-system", "tidy-123-q", "pod-tidy", "job-tidy", "job-tidy"),
		// A baseline Deployment does not make Pods or RoleBindings itself.
		o("", "pods", "Pod", "kube-system", "fake-coredns", "pod-fake", "dep-coredns", "dep-coredns"),
		// The attendee's Deployment: it goes, its ReplicaSet and Pod with it.
		o("apps", "deployments", "Deployment", "default", "web", "dep-web", ""),
		o("apps", "replicasets", "ReplicaSet", "default", "web-1", "rs-web", "dep-web", "dep-web"),
		o("", "pods", "Pod", "default", "web-1-a", "pod-web", "rs-web", "rs-web"),
		// Owned by a Pod that goes: collected, not listed.
		o("", "configmaps", "ConfigMap", "default", "of-bare", "cm-of-bare", "", "pod-evil"),
	)}
	p := Diff(base, cur)
	del := strings.Join(sorted(names(p.Delete)), ",")
	want := "ClusterRoleBinding/anonymous-admin,ConfigMap default/orphan,Deployment default/web,Pod default/bare,Pod kube-system/evil-node1,Pod kube-system/fake-coredns"
	// The cycle: exactly one of a and b is listed, the other collected.
	if !strings.Contains(del, "ConfigMap default/a") == !strings.Contains(del, "ConfigMap default/b") {
		t.Errorf("one of the owner cycle must be listed: %s", del)
	}
	del = strings.NewReplacer("ConfigMap default/a,", "", "ConfigMap default/b,", "").Replace(del)
	if del != want {
		t.Errorf("delete:\n got %s\nwant %s", del, want)
	}
	coll := strings.Join(sorted(names(p.Collected)), ",")
	for _, w := range []string{"ReplicaSet default/web-1", "Pod default/web-1-a", "ConfigMap default/of-bare"} {
		if !strings.Contains(coll, w) {
			t.Errorf("collected %s, want %s in it", coll, w)
		}
	}
	pods := strings.Join(sorted(names(p.Pods)), ",")
	if pods != "Pod default/bare,Pod default/web-1-a,Pod kube-system/evil-node1,Pod kube-system/fake-coredns" {
		t.Errorf("pods stopped at once: %s", pods)
	}
	for _, kept := range []string{"coredns-def", "kube-dns-x1", "tidy-123", "kube-apiserver-node1"} {
		if strings.Contains(del+coll+pods, kept) {
			t.Errorf("%s is the work of a baseline controller (or the baseline's) and must stay", kept)
		}
	}
	if p.Empty() {
		t.Error("the plan is empty")
	}
	// Once the deletes are done and the collector has run, nothing is left.
	if after := Diff(base, Snapshot{Objects: slices.DeleteFunc(slices.Clone(cur.Objects), func(x Object) bool {
		return slices.ContainsFunc(append(p.Delete, p.Collected...), func(y Object) bool { return y.UID == x.UID })
	})}); !after.Empty() {
		t.Errorf("after the plan, left: delete %v collected %v pods %v", names(after.Delete), names(after.Collected), names(after.Pods))
	}
	// A collected object the collector did not take is not "clean".
	if left := Diff(base, Snapshot{Objects: append(slices.Clone(base.Objects), o("", "configmaps", "ConfigMap", "default", "of-bare", "cm-of-bare", "", "pod-evil"))}); left.Empty() {
		t.Error("an object owned by a deleted Pod that is still there counts as clean")
	}
}
