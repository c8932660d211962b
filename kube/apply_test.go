package kube

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Typed objects become apply configurations with their kind, without the
// fields server-side apply refuses, and map to the right resource.
func TestToUnstructuredAndResource(t *testing.T) {
	for _, tc := range []struct {
		obj      Object
		apiVer   string
		resource string
	}{
		{&appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "kube-system"}}, "apps/v1", "daemonsets"},
		{&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, "rbac.authorization.k8s.io/v1", "clusterroles"},
		{&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, "storage.k8s.io/v1", "storageclasses"},
		{&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, "networking.k8s.io/v1", "ingressclasses"},
		{&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "d"}}, "networking.k8s.io/v1", "networkpolicies"},
	} {
		u, err := ToUnstructured(tc.obj)
		if err != nil {
			t.Fatal(err)
		}
		if u.GetAPIVersion() != tc.apiVer || u.GetName() != "x" {
			t.Errorf("%T: apiVersion %q name %q", tc.obj, u.GetAPIVersion(), u.GetName())
		}
		if _, ok := u.Object["status"]; ok {
			t.Errorf("%T: status kept", tc.obj)
		}
		if md := u.Object["metadata"].(map[string]any); md["creationTimestamp"] != nil {
			t.Errorf("%T: creationTimestamp kept", tc.obj)
		}
		if r := resource(u.GroupVersionKind()); r.Resource != tc.resource {
			t.Errorf("%T: resource %q, want %q", tc.obj, r.Resource, tc.resource)
		}
		ref, err := RefOf(tc.obj)
		if err != nil || ref.Name != "x" || ref.GVK.Kind == "" {
			t.Errorf("%T: ref %+v %v", tc.obj, ref, err)
		}
	}
}

func TestFromKubeconfigRefusesGarbage(t *testing.T) {
	if _, err := FromKubeconfig("01/node1", []byte("not: [a kubeconfig"), nil); err == nil {
		t.Fatal("no error")
	}
}
