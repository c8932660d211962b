// Package storage is the storage add-on: a default StorageClass whose
// volumes are directories on the node where the pod is scheduled, made and
// removed by labctl's own provisioner (./cmd/labctl-storage, written with
// sigs.k8s.io/sig-storage-lib-external-provisioner).
//
// The provisioner runs as a DaemonSet: one pod on every node, each acting
// only for its own node. The class binds on first consumer, so the
// scheduler picks the node first (the claim's selected-node annotation)
// and only that node's pod makes the directory, under a hostPath mount of
// Root, then a local PersistentVolume pinned to the node. Deleting a
// released volume is again done by the pod of the volume's node. No leader
// election: a DaemonSet has one pod per node (its rolling update replaces,
// never surges), so no two provisioners ever act for the same node; a
// single elected provisioner could not reach other nodes' disks anyway.
//
// This package only builds the add-on's objects, which labctl applies; the
// provisioner's logic lives in its main package (./cmd/labctl-storage),
// so that labctl does not link the provisioner library. It does not import
// kube (only kube/objects): the provisioner binary imports it, and kube
// would link the SSH engine into the image.
package storage

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/labctl/labctl/kube/objects"
)

const (
	// Package is the provisioner's main package in labctl's module.
	Package = "./addons/storage/cmd/labctl-storage"
	// Binary is its file name at the image's root.
	Binary = "labctl-storage"
	// Name names the provisioner's objects; Namespace holds the namespaced ones.
	Name      = "labctl-storage"
	Namespace = "kube-system"
	// ClassName is the default StorageClass; ProvisionerName is what it names.
	ClassName       = "node-local"
	ProvisionerName = "labctl.io/node-local"
	// Root is the directory on every node that holds the volumes, one
	// directory each; the provisioner sees it at the same path.
	Root = "/var/lib/labctl/volumes"
	// NodeAnnotation on a PersistentVolume names the node that holds it
	// (the node whose provisioner deletes it).
	NodeAnnotation = "labctl.io/node"
)

// Objects are the StorageClass and the provisioner's RBAC and DaemonSet,
// running image.
func Objects(image string) []objects.Object {
	labels := map[string]string{"app.kubernetes.io/name": Name}
	deleteData := corev1.PersistentVolumeReclaimDelete
	firstConsumer := storagev1.VolumeBindingWaitForFirstConsumer
	class := &storagev1.StorageClass{
		TypeMeta: metav1.TypeMeta{APIVersion: "storage.k8s.io/v1", Kind: "StorageClass"},
		ObjectMeta: metav1.ObjectMeta{Name: ClassName, Labels: map[string]string{"app.kubernetes.io/name": Name},
			// Claims without storageClassName get this class (the deck's
			// volumeClaimTemplates name none).
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner:   ProvisionerName,
		ReclaimPolicy: &deleteData,
		// The scheduler picks the node before the volume exists: the
		// volume is made where the pod runs.
		VolumeBindingMode: &firstConsumer,
	}
	return append([]objects.Object{class}, objects.NodeAgent{
		Name: Name, Namespace: Namespace, Labels: labels,
		// What the provisioner library reads and writes, and the node's
		// hostname label.
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"persistentvolumes"}, Verbs: []string{"get", "list", "watch", "create", "delete", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"persistentvolumeclaims"}, Verbs: []string{"get", "list", "watch", "update"}},
			{APIGroups: []string{"storage.k8s.io"}, Resources: []string{"storageclasses"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "update", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get"}},
		},
		Pod: podSpec(image),
	}.Objects()...)
}

func podSpec(image string) corev1.PodSpec {
	hostPathType := corev1.HostPathDirectoryOrCreate
	return corev1.PodSpec{
		// Every node, node1 included: a pod that tolerates the control
		// plane's taint may claim a volume there too.
		Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		PriorityClassName:             "system-node-critical",
		TerminationGracePeriodSeconds: new(int64(5)),
		EnableServiceLinks:            new(false),
		Containers: []corev1.Container{{
			Name:            "provisioner",
			Image:           image,
			ImagePullPolicy: corev1.PullIfNotPresent,
			Command:         []string{"/" + Binary},
			Args:            []string{"-root=" + Root},
			Env:             objects.NodeNameEnv(),
			Resources:       objects.Resources("5m", "24Mi", "128Mi"),
			// Root, to make directories any pod's user can write and to
			// remove whatever a pod left in them (a database's 0700 data
			// directory owned by its own user): DAC_OVERRIDE and FOWNER
			// are the only capabilities that takes.
			SecurityContext: objects.RootWith("DAC_OVERRIDE", "FOWNER"),
			VolumeMounts:    []corev1.VolumeMount{{Name: "volumes", MountPath: Root}},
		}},
		Volumes: []corev1.Volume{{Name: "volumes", VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: Root, Type: &hostPathType}}}},
	}
}
