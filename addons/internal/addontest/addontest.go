// Package addontest holds what the add-ons' tests check of every list of
// objects an add-on renders: each has a kind and converts to what the phase
// applies, and a test can pick one out by its type. It imports kube, never
// an add-on, so any add-on's tests may use it. Imported by tests only.
package addontest

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/labctl/labctl/internal/golden"
	"github.com/labctl/labctl/kube"
)

// Golden compares objs, as kube.YAML writes them, with testdata/name.
func Golden(t *testing.T, name string, objs []kube.Object) {
	t.Helper()
	out, err := kube.YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, name, out)
}

// Refs checks that every object has a kind and converts to unstructured, as
// the add-ons phase applies it, and returns their references in order.
func Refs(t testing.TB, objs []kube.Object) []kube.Ref {
	t.Helper()
	refs := make([]kube.Ref, 0, len(objs))
	for _, o := range objs {
		ref, err := kube.RefOf(o)
		if err != nil {
			t.Fatalf("%T: %v", o, err)
		}
		if _, err := kube.ToUnstructured(o); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
		refs = append(refs, ref)
	}
	return refs
}

// One returns the object of type T among objs, failing the test when there
// is none or more than one.
func One[T kube.Object](t testing.TB, objs []kube.Object) T {
	t.Helper()
	var found []T
	for _, o := range objs {
		if x, ok := o.(T); ok {
			found = append(found, x)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want one %T among %d objects, got %d", zero, len(objs), len(found))
	}
	return found[0]
}

// Agent is what objects.NodeAgent renders, picked out of an add-on's
// objects.
type Agent struct {
	DaemonSet *appsv1.DaemonSet
	Role      *rbacv1.ClusterRole
	Binding   *rbacv1.ClusterRoleBinding
	Account   *corev1.ServiceAccount
	// Pod is the DaemonSet's pod spec.
	Pod corev1.PodSpec
}

// NodeAgent checks every object as Refs does, picks out the agent's
// DaemonSet, ClusterRole, binding and ServiceAccount, and checks what ties
// them together: the binding gives the role to the account, the pods run as
// it, the selector matches the pods' labels, and the namespaced ones are in
// namespace.
func NodeAgent(t testing.TB, objs []kube.Object, namespace string) Agent {
	t.Helper()
	Refs(t, objs)
	a := Agent{
		DaemonSet: One[*appsv1.DaemonSet](t, objs),
		Role:      One[*rbacv1.ClusterRole](t, objs),
		Binding:   One[*rbacv1.ClusterRoleBinding](t, objs),
		Account:   One[*corev1.ServiceAccount](t, objs),
	}
	a.Pod = a.DaemonSet.Spec.Template.Spec
	if !Binds(a.Binding, a.Role, a.Account) {
		t.Errorf("binding %+v does not tie %s/%s to %s", a.Binding, a.Account.Namespace, a.Account.Name, a.Role.Name)
	}
	if a.Pod.ServiceAccountName != a.Account.Name {
		t.Errorf("pods run as %q, not %q", a.Pod.ServiceAccountName, a.Account.Name)
	}
	for k, v := range a.DaemonSet.Spec.Selector.MatchLabels {
		if a.DaemonSet.Spec.Template.Labels[k] != v {
			t.Errorf("pod template labels %v do not match the selector", a.DaemonSet.Spec.Template.Labels)
		}
	}
	if a.DaemonSet.Namespace != namespace || a.Account.Namespace != namespace {
		t.Errorf("namespaced objects in %q and %q, want %s", a.DaemonSet.Namespace, a.Account.Namespace, namespace)
	}
	return a
}

// Grants reports whether one of rules allows verb on resource of group.
func Grants(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	return slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
		return slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb)
	})
}

// Binds reports whether binding gives role to sa and to no one else.
func Binds(binding *rbacv1.ClusterRoleBinding, role *rbacv1.ClusterRole, sa *corev1.ServiceAccount) bool {
	s := binding.Subjects
	return len(s) == 1 && s[0].Kind == rbacv1.ServiceAccountKind && s[0].Name == sa.Name && s[0].Namespace == sa.Namespace &&
		binding.RoleRef.Kind == "ClusterRole" && binding.RoleRef.Name == role.Name
}
