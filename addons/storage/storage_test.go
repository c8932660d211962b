package storage

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/labctl/labctl/addons/internal/addontest"
)

const testImage = "localhost/labctl/storage:test"

func TestObjectsGolden(t *testing.T) {
	addontest.Golden(t, "objects.golden.yaml", Objects(testImage))
}

func TestObjects(t *testing.T) {
	objs := Objects(testImage)
	addontest.Refs(t, objs)
	class := addontest.One[*storagev1.StorageClass](t, objs)
	a := addontest.NodeAgent(t, objs, Namespace)
	ds, role, pod := a.DaemonSet, a.Role, a.Pod

	if class.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" || class.Provisioner != ProvisionerName ||
		class.VolumeBindingMode == nil || *class.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer ||
		class.ReclaimPolicy == nil || *class.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
		t.Errorf("class %+v: want the default, %s, WaitForFirstConsumer, Delete", class, ProvisionerName)
	}

	// What the library does: create and delete volumes, update claims (to
	// send a claim back to the scheduler), read classes, record events.
	for _, need := range []struct{ group, resource, verb string }{
		{"", "persistentvolumes", "create"}, {"", "persistentvolumes", "delete"}, {"", "persistentvolumes", "watch"},
		{"", "persistentvolumeclaims", "update"}, {"", "persistentvolumeclaims", "watch"},
		{"storage.k8s.io", "storageclasses", "watch"}, {"", "events", "create"}, {"", "nodes", "get"},
	} {
		if !addontest.Grants(role.Rules, need.group, need.resource, need.verb) {
			t.Errorf("ClusterRole does not grant %s on %s", need.verb, need.resource)
		}
	}

	c := pod.Containers[0]
	if c.Image != testImage {
		t.Errorf("image %q", c.Image)
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
