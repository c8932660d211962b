// Package portworx is the deck's Portworx install (the storage chapter):
// the spec URL of Portworx's spec generator for a lab, the same parameters
// the deck asks for (embedded key/value store, /dev/loop4, STORK), and the
// deck's default StorageClass as a typed object. Portworx itself is
// proprietary and online only: its spec comes from install.portworx.com
// and its images from Portworx's registry.
package portworx

import (
	"fmt"
	"net/url"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/labctl/labctl/kube"
)

const (
	// SpecService renders Portworx specs from query parameters.
	SpecService = "https://install.portworx.com/"
	// Version is the Portworx release asked for: the last line the spec
	// service renders as one manifest (a DaemonSet, as in the deck), not
	// as an operator and a StorageCluster.
	Version = "2.13"
	// Device is the loop device nodeprep attaches /portworx.blk to, on
	// every node (nodes.portworxSize).
	Device = "/dev/loop4"
	// ClassName is the deck's default StorageClass (k8s/storage-class.yaml).
	ClassName = "portworx-replicated"
	// Provisioner is Portworx's CSI driver. The deck's in-tree
	// kubernetes.io/portworx-volume is migrated to it on current
	// Kubernetes, so the spec asks for CSI (csi=true).
	Provisioner = "pxd.portworx.com"
)

// SpecURL is the spec Portworx's service renders for a cluster running
// kubeVersion ("1.34.4"), named cluster: the deck's query (kbver, b for the
// embedded key/value store, s for the device, c, stork) plus csi.
func SpecURL(kubeVersion, cluster string) string {
	q := url.Values{}
	q.Set("kbver", kubeVersion)
	q.Set("b", "true")
	q.Set("s", Device)
	q.Set("c", cluster)
	q.Set("stork", "true")
	q.Set("csi", "true")
	return SpecService + Version + "?" + q.Encode()
}

// ClusterName is the Portworx cluster name for a lab: the deck's
// px-workshop, after the lab. Each attendee's cluster has its own embedded
// key/value store, so the clusters do not meet.
func ClusterName(lab string) string { return fmt.Sprintf("px-%s", lab) }

// Objects are what labctl owns of Portworx: the deck's StorageClass,
// default, keeping two replicas of each volume.
func Objects() []kube.Object {
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        ClassName,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"},
		},
		Provisioner: Provisioner,
		Parameters:  map[string]string{"repl": "2", "priority_io": "high"},
	}
	return []kube.Object{sc}
}
