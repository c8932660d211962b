// Package objects is what labctl's typed Kubernetes objects have in
// common, without a client: the Object they all are (kube.Object is this
// one) and the builder of a node agent's objects. It imports only the API
// types, so that the agents' own binaries, which import their add-on's
// package for its names, link neither client-go's scheme nor the SSH
// engine.
package objects

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Object is a typed Kubernetes object (a *appsv1.DaemonSet, ...).
type Object interface {
	runtime.Object
	metav1.Object
}

// NodeAgent is a program on every node: a DaemonSet with a ServiceAccount
// of its own and a ClusterRole bound to it, all named Name; the
// namespaced ones are in Namespace.
type NodeAgent struct {
	Name, Namespace string
	// Labels are every object's and the pods'; Selector is the
	// DaemonSet's (default: Labels).
	Labels, Selector map[string]string
	// Rules are the ClusterRole's.
	Rules []rbacv1.PolicyRule
	// Update and MinReadySeconds are the DaemonSet's rollout.
	Update          appsv1.DaemonSetUpdateStrategy
	MinReadySeconds int32
	// Pod runs as the ServiceAccount (its ServiceAccountName is set).
	Pod corev1.PodSpec
}

// Meta is the metadata of one of the agent's objects: the cluster-wide
// ones have no namespace.
func (a NodeAgent) Meta(namespaced bool) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: a.Name, Labels: copyLabels(a.Labels)}
	if namespaced {
		m.Namespace = a.Namespace
	}
	return m
}

// Objects are the ServiceAccount, the ClusterRole and its binding, then
// extra (what else the agent needs before it starts: a Role, an
// IngressClass), then the DaemonSet.
func (a NodeAgent) Objects(extra ...Object) []Object {
	sa := &corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: a.Meta(true)}
	role := &rbacv1.ClusterRole{
		TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"),
		ObjectMeta: a.Meta(false),
		Rules:      a.Rules,
	}
	binding := &rbacv1.ClusterRoleBinding{
		TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
		ObjectMeta: a.Meta(false),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: a.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: a.Name, Namespace: a.Namespace}},
	}
	selector := a.Selector
	if selector == nil {
		selector = a.Labels
	}
	pod := a.Pod
	pod.ServiceAccountName = a.Name
	ds := &appsv1.DaemonSet{
		TypeMeta:   typeMeta("apps/v1", "DaemonSet"),
		ObjectMeta: a.Meta(true),
		Spec: appsv1.DaemonSetSpec{
			Selector:        &metav1.LabelSelector{MatchLabels: copyLabels(selector)},
			UpdateStrategy:  a.Update,
			MinReadySeconds: a.MinReadySeconds,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: copyLabels(a.Labels)},
				Spec:       pod,
			},
		},
	}
	out := []Object{sa, role, binding}
	out = append(out, extra...)
	return append(out, ds)
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func copyLabels(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
