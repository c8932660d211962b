package main

import (
	"github.com/labctl/labctl/addons/storage"

	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

// selectedNode is the annotation the scheduler puts on a claim of a
// WaitForFirstConsumer class: the node its first pod goes to.
const selectedNode = "volume.kubernetes.io/selected-node"

// Provisioner makes and removes the volumes of one node: directories
// under Root on that node. It implements the library's Provisioner,
// Qualifier and DeletionGuard, so that of the provisioners on every node
// only the one of the claim's (or volume's) node acts.
type Provisioner struct {
	// Node is this node's name; Hostname its kubernetes.io/hostname label,
	// which the volumes' node affinity names.
	Node, Hostname string
	// Root holds the volumes (the node's Root, mounted at the same path).
	Root string
}

// New reads node's hostname label through client (the scheduler matches
// volumes' node affinity against labels, and the label need not equal the
// node's name) and returns node's provisioner of volumes under root.
func New(ctx context.Context, client kubernetes.Interface, node, root string) (*Provisioner, error) {
	if node == "" {
		return nil, errors.New("no node name")
	}
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("volumes root %q is not an absolute path", root)
	}
	n, err := client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading node %s: %w", node, err)
	}
	host := n.Labels[corev1.LabelHostname]
	if host == "" {
		return nil, fmt.Errorf("node %s has no %s label", node, corev1.LabelHostname)
	}
	return &Provisioner{Node: node, Hostname: host, Root: filepath.Clean(root)}, nil
}

// Controller is the library's controller running p, without leader
// election (see the package comment).
func Controller(ctx context.Context, client kubernetes.Interface, p *Provisioner, options ...func(*controller.ProvisionController) error) *controller.ProvisionController {
	opts := append([]func(*controller.ProvisionController) error{
		controller.LeaderElection(false),
		controller.Threadiness(2),
	}, options...)
	return controller.NewProvisionController(ctx, client, storage.ProvisionerName, p, opts...)
}

// ShouldProvision: only claims whose pod the scheduler put on this node.
func (p *Provisioner) ShouldProvision(_ context.Context, claim *corev1.PersistentVolumeClaim) bool {
	return claim.Annotations[selectedNode] == p.Node
}

// ShouldDelete: only volumes on this node.
func (p *Provisioner) ShouldDelete(_ context.Context, pv *corev1.PersistentVolume) bool {
	return pv.Annotations[storage.NodeAnnotation] == p.Node
}

// Provision makes the claim's directory on this node, writable by any
// user (the pod's user is not known here), and returns its local volume
// pinned to this node.
func (p *Provisioner) Provision(_ context.Context, o controller.ProvisionOptions) (*corev1.PersistentVolume, controller.ProvisioningState, error) {
	claim := o.PVC
	if o.SelectedNodeName != p.Node {
		if o.SelectedNodeName == "" {
			return nil, controller.ProvisioningFinished, fmt.Errorf("claim %s/%s has no selected node: the class %s must bind on first consumer (node-local volumes)", claim.Namespace, claim.Name, className(o))
		}
		return nil, controller.ProvisioningFinished, &controller.IgnoredError{Reason: "the claim's node is " + o.SelectedNodeName + ", not " + p.Node}
	}
	if claim.Spec.Selector != nil {
		return nil, controller.ProvisioningFinished, fmt.Errorf("claim %s/%s has a selector: %s makes new volumes only, it cannot match labels", claim.Namespace, claim.Name, storage.ProvisionerName)
	}
	for _, m := range claim.Spec.AccessModes {
		if m != corev1.ReadWriteOnce && m != corev1.ReadWriteOncePod {
			return nil, controller.ProvisioningFinished, fmt.Errorf("claim %s/%s asks for access mode %s: a node-local volume is ReadWriteOnce or ReadWriteOncePod", claim.Namespace, claim.Name, m)
		}
	}
	size, ok := claim.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return nil, controller.ProvisioningFinished, fmt.Errorf("claim %s/%s requests no storage size", claim.Namespace, claim.Name)
	}
	dir := filepath.Join(p.Root, dirName(o.PVName, claim))
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, controller.ProvisioningNoChange, fmt.Errorf("node %s: %w", p.Node, err)
	}
	// MkdirAll's mode is cut by the umask.
	if err := os.Chmod(dir, 0o777); err != nil {
		return nil, controller.ProvisioningNoChange, fmt.Errorf("node %s: %w", p.Node, err)
	}
	reclaim := corev1.PersistentVolumeReclaimDelete
	if o.StorageClass != nil && o.StorageClass.ReclaimPolicy != nil {
		reclaim = *o.StorageClass.ReclaimPolicy
	}
	modes := claim.Spec.AccessModes
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	fsMode := corev1.PersistentVolumeFilesystem
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        o.PVName,
			Annotations: map[string]string{storage.NodeAnnotation: p.Node},
		},
		Spec: corev1.PersistentVolumeSpec{
			// Not enforced: a directory takes what the node's disk has.
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   modes,
			PersistentVolumeReclaimPolicy: reclaim,
			VolumeMode:                    &fsMode,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: dir}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: corev1.LabelHostname, Operator: corev1.NodeSelectorOpIn, Values: []string{p.Hostname},
				}}}},
			}},
		},
	}
	return pv, controller.ProvisioningFinished, nil
}

// Delete removes a released volume's directory and everything in it. The
// path comes from the volume object, which a user may have written: only
// a directory directly under Root, named as Provision names them, is
// removed.
func (p *Provisioner) Delete(_ context.Context, pv *corev1.PersistentVolume) error {
	if node := pv.Annotations[storage.NodeAnnotation]; node != p.Node {
		return &controller.IgnoredError{Reason: "the volume is on node " + node + ", not " + p.Node}
	}
	if pv.Spec.Local == nil {
		return fmt.Errorf("volume %s on node %s is not a local volume: not removing anything", pv.Name, p.Node)
	}
	dir, err := p.volumeDir(pv.Name, pv.Spec.Local.Path)
	if err != nil {
		return err
	}
	// RemoveAll of a missing directory is no error: a retried delete.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("volume %s on node %s: %w", pv.Name, p.Node, err)
	}
	return nil
}

// volumeDir checks that path is a volume directory of p's: directly under
// Root, named after the volume, not a symbolic link.
func (p *Provisioner) volumeDir(pvName, path string) (string, error) {
	clean := filepath.Clean(path)
	if filepath.Dir(clean) != p.Root || !strings.HasPrefix(filepath.Base(clean), pvName+"_") {
		return "", fmt.Errorf("volume %s on node %s: path %s is not a volume directory under %s: not removing it", pvName, p.Node, path, p.Root)
	}
	fi, err := os.Lstat(clean)
	if errors.Is(err, fs.ErrNotExist) {
		return clean, nil
	}
	if err != nil {
		return "", fmt.Errorf("volume %s on node %s: %w", pvName, p.Node, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("volume %s on node %s: %s is not a directory (%s): not removing it", pvName, p.Node, path, fi.Mode().Type())
	}
	return clean, nil
}

// dirName names a volume's directory: the volume's name first (unique),
// then the claim's namespace and name, so that `ls` on the node says whose
// data it is. The API server allows no '/' in either name.
func dirName(pvName string, claim *corev1.PersistentVolumeClaim) string {
	return pvName + "_" + claim.Namespace + "_" + claim.Name
}

func className(o controller.ProvisionOptions) string {
	if o.StorageClass == nil {
		return "(none)"
	}
	return o.StorageClass.Name
}
