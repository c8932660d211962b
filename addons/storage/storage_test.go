package storage

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"sigs.k8s.io/yaml"

	"github.com/labctl/labctl/internal/golden"
	"github.com/labctl/labctl/kube"
)

const testImage = "localhost/labctl/storage:test"

func TestObjectsGolden(t *testing.T) {
	var docs []string
	for _, o := range Objects(testImage) {
		b, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	golden.Check(t, "objects.golden.yaml", strings.Join(docs, "---\n"))
}

func TestObjects(t *testing.T) {
	var (
		class *storagev1.StorageClass
		ds    *appsv1.DaemonSet
		role  *rbacv1.ClusterRole
		bind  *rbacv1.ClusterRoleBinding
		sa    *corev1.ServiceAccount
	)
	for _, o := range Objects(testImage) {
		// The phase converts and applies them through package kube.
		ref, err := kube.RefOf(o)
		if err != nil {
			t.Fatalf("%T: %v", o, err)
		}
		if _, err := kube.ToUnstructured(o); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
		switch o := o.(type) {
		case *storagev1.StorageClass:
			class = o
		case *appsv1.DaemonSet:
			ds = o
		case *rbacv1.ClusterRole:
			role = o
		case *rbacv1.ClusterRoleBinding:
			bind = o
		case *corev1.ServiceAccount:
			sa = o
		}
	}
	if class == nil || ds == nil || role == nil || bind == nil || sa == nil {
		t.Fatal("want a StorageClass, DaemonSet, ClusterRole, ClusterRoleBinding and ServiceAccount")
	}

	if class.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" || class.Provisioner != ProvisionerName ||
		class.VolumeBindingMode == nil || *class.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer ||
		class.ReclaimPolicy == nil || *class.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
		t.Errorf("class %+v: want the default, %s, WaitForFirstConsumer, Delete", class, ProvisionerName)
	}

	// What the library does: create and delete volumes, update claims (to
	// send a claim back to the scheduler), read classes, record events.
	for _, need := range []struct{ resource, verb string }{
		{"persistentvolumes", "create"}, {"persistentvolumes", "delete"}, {"persistentvolumes", "watch"},
		{"persistentvolumeclaims", "update"}, {"persistentvolumeclaims", "watch"},
		{"storageclasses", "watch"}, {"events", "create"}, {"nodes", "get"},
	} {
		if !slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.Resources, need.resource) && slices.Contains(r.Verbs, need.verb)
		}) {
			t.Errorf("ClusterRole does not grant %s on %s", need.verb, need.resource)
		}
	}
	if s := bind.Subjects; len(s) != 1 || s[0].Name != sa.Name || s[0].Namespace != sa.Namespace || bind.RoleRef.Name != role.Name {
		t.Errorf("binding %+v does not tie %s/%s to %s", bind, sa.Namespace, sa.Name, role.Name)
	}

	pod := ds.Spec.Template.Spec
	c := pod.Containers[0]
	if c.Image != testImage || pod.ServiceAccountName != sa.Name {
		t.Errorf("image %q, service account %q", c.Image, pod.ServiceAccountName)
	}
	if len(pod.Tolerations) != 1 || pod.Tolerations[0].Operator != corev1.TolerationOpExists {
		t.Errorf("tolerations %+v: the provisioner must run on every node", pod.Tolerations)
	}
	if len(c.Env) != 1 || c.Env[0].Name != "NODE_NAME" || c.Env[0].ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
		t.Errorf("env %+v: the pod must know its node", c.Env)
	}
	// The volumes root at the same path inside and on the node: the PV's
	// local path is the node's path.
	if len(pod.Volumes) != 1 || pod.Volumes[0].HostPath == nil || pod.Volumes[0].HostPath.Path != Root ||
		len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != Root || c.VolumeMounts[0].Name != pod.Volumes[0].Name {
		t.Errorf("volumes %+v, mounts %+v: want %s from the node at %s", pod.Volumes, c.VolumeMounts, Root, Root)
	}
	if !slices.Contains(c.Args, "-root="+Root) {
		t.Errorf("args %v", c.Args)
	}
	if ds.Spec.UpdateStrategy.RollingUpdate != nil && ds.Spec.UpdateStrategy.RollingUpdate.MaxSurge != nil {
		t.Error("a surge would run two provisioners for one node")
	}
}
