package objects

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

func TestNodeAgent(t *testing.T) {
	a := NodeAgent{Name: "agent", Namespace: "kube-system", Labels: map[string]string{"app": "agent", "extra": "x"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list"}}},
		Pod:   corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "img"}}}}
	role := &rbacv1.Role{ObjectMeta: a.Meta(true)}
	objs := a.Objects(role)
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetObjectKind().GroupVersionKind().Kind)
	}
	if len(objs) != 5 || objs[3] != role {
		t.Fatalf("objects %v: want ServiceAccount, ClusterRole, ClusterRoleBinding, the extra Role, DaemonSet", kinds)
	}
	for i, want := range []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "", "DaemonSet"} {
		if kinds[i] != want {
			t.Errorf("object %d is a %q, want %q", i, kinds[i], want)
		}
	}
	for _, o := range objs {
		cluster := o.GetObjectKind().GroupVersionKind().Kind == "ClusterRole" || o.GetObjectKind().GroupVersionKind().Kind == "ClusterRoleBinding"
		if o.GetName() != "agent" || (o.GetNamespace() == "") != cluster {
			t.Errorf("%T is %q/%q", o, o.GetNamespace(), o.GetName())
		}
	}
	b := objs[2].(*rbacv1.ClusterRoleBinding)
	if b.RoleRef.Name != "agent" || len(b.Subjects) != 1 || b.Subjects[0].Kind != "ServiceAccount" || b.Subjects[0].Namespace != "kube-system" {
		t.Errorf("binding %+v", b)
	}
	ds := objs[4].(*appsv1.DaemonSet)
	if ds.Spec.Template.Spec.ServiceAccountName != "agent" || ds.Spec.Selector.MatchLabels["extra"] != "x" {
		t.Errorf("DaemonSet: service account %q, selector %v", ds.Spec.Template.Spec.ServiceAccountName, ds.Spec.Selector.MatchLabels)
	}
	// Each object has labels of its own: changing one changes no other.
	ds.Spec.Template.Labels["extra"] = "changed"
	if ds.Spec.Selector.MatchLabels["extra"] != "x" || objs[0].GetLabels()["extra"] != "x" || a.Labels["extra"] != "x" {
		t.Error("objects share one labels map")
	}
	a.Selector = map[string]string{"app": "agent"}
	if sel := a.Objects()[3].(*appsv1.DaemonSet).Spec.Selector.MatchLabels; len(sel) != 1 {
		t.Errorf("selector %v, want only app", sel)
	}
}
