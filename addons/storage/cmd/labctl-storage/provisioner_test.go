package main

import (
	"github.com/labctl/labctl/addons/storage"

	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v13/controller"
)

func node(name, hostname string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: hostname}}}
}

func class() *storagev1.StorageClass {
	for _, o := range storage.Objects("x") {
		if c, ok := o.(*storagev1.StorageClass); ok {
			return c
		}
	}
	panic("no class")
}

// claim is what the PV controller and the scheduler leave for an external
// provisioner: a claim of the class, annotated with the provisioner and the
// node its pod goes to.
func claim(name, selected string) *corev1.PersistentVolumeClaim {
	cls := storage.ClassName
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), Annotations: map[string]string{
			"volume.kubernetes.io/storage-provisioner": storage.ProvisionerName,
			selectedNode: selected,
		}},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &cls,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

func newProvisioner(t *testing.T, name string) *Provisioner {
	t.Helper()
	cl := fake.NewClientset(node(name, "host-"+name))
	p, err := New(context.Background(), cl, name, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewReadsTheHostnameLabel(t *testing.T) {
	cl := fake.NewClientset(node("node2", "node2.example"), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "bare"}})
	p, err := New(context.Background(), cl, "node2", "/var/lib/x/")
	if err != nil || p.Hostname != "node2.example" || p.Root != "/var/lib/x" {
		t.Fatalf("New: %+v, %v", p, err)
	}
	for _, tc := range []struct{ node, root, msg string }{
		{"", "/v", "no node name"},
		{"node2", "v", "not an absolute path"},
		{"node9", "/v", "reading node node9"},
		{"bare", "/v", "node bare has no kubernetes.io/hostname label"},
	} {
		if _, err := New(context.Background(), cl, tc.node, tc.root); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("New(%q, %q): %v, want %q", tc.node, tc.root, err, tc.msg)
		}
	}
}

func TestProvision(t *testing.T) {
	p := newProvisioner(t, "node2")
	c := claim("data-web-0", "node2")
	pv, state, err := p.Provision(context.Background(), controller.ProvisionOptions{StorageClass: class(), PVName: "pvc-1", PVC: c, SelectedNodeName: "node2"})
	if err != nil || state != controller.ProvisioningFinished {
		t.Fatalf("provision: %v (%s)", err, state)
	}
	dir := filepath.Join(p.Root, "pvc-1_default_data-web-0")
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o777 {
		t.Fatalf("directory %s: %v %v, want a directory any pod user can write", dir, fi, err)
	}
	if pv.Name != "pvc-1" || pv.Spec.Local == nil || pv.Spec.Local.Path != dir || pv.Annotations[storage.NodeAnnotation] != "node2" {
		t.Errorf("pv %+v", pv)
	}
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || pv.Spec.Capacity.Storage().String() != "1Gi" ||
		len(pv.Spec.AccessModes) != 1 || pv.Spec.AccessModes[0] != corev1.ReadWriteOnce {
		t.Errorf("pv spec %+v", pv.Spec)
	}
	terms := pv.Spec.NodeAffinity.Required.NodeSelectorTerms
	if len(terms) != 1 || len(terms[0].MatchExpressions) != 1 {
		t.Fatalf("node affinity %+v", terms)
	}
	if e := terms[0].MatchExpressions[0]; e.Key != corev1.LabelHostname || e.Operator != corev1.NodeSelectorOpIn || len(e.Values) != 1 || e.Values[0] != "host-node2" {
		t.Errorf("node affinity %+v, want kubernetes.io/hostname In [host-node2]", e)
	}
	// A retry after a lost PV create finds the directory there.
	if _, _, err := p.Provision(context.Background(), controller.ProvisionOptions{StorageClass: class(), PVName: "pvc-1", PVC: c, SelectedNodeName: "node2"}); err != nil {
		t.Errorf("second provision: %v", err)
	}
	retain := corev1.PersistentVolumeReclaimRetain
	keep := class()
	keep.ReclaimPolicy = &retain
	if pv, _, err := p.Provision(context.Background(), controller.ProvisionOptions{StorageClass: keep, PVName: "pvc-2", PVC: c, SelectedNodeName: "node2"}); err != nil || pv.Spec.PersistentVolumeReclaimPolicy != retain {
		t.Errorf("a Retain class: %v, %v", pv, err)
	}
}

func TestProvisionRefuses(t *testing.T) {
	p := newProvisioner(t, "node2")
	rwx := claim("shared", "node2")
	rwx.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
	sel := claim("picky", "node2")
	sel.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"disk": "ssd"}}
	for _, tc := range []struct {
		c       *corev1.PersistentVolumeClaim
		node    string
		ignored bool
		msg     string
	}{
		{claim("elsewhere", "node3"), "node3", true, "the claim's node is node3, not node2"},
		{claim("immediate", ""), "", false, "must bind on first consumer"},
		{rwx, "node2", false, "access mode ReadWriteMany"},
		{sel, "node2", false, "has a selector"},
	} {
		_, _, err := p.Provision(context.Background(), controller.ProvisionOptions{StorageClass: class(), PVName: "pvc-" + tc.c.Name, PVC: tc.c, SelectedNodeName: tc.node})
		var ign *controller.IgnoredError
		if err == nil || errors.As(err, &ign) != tc.ignored || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %q (ignored %v)", tc.c.Name, err, tc.msg, tc.ignored)
		}
	}
	if entries, _ := os.ReadDir(p.Root); len(entries) != 0 {
		t.Errorf("refused claims left %v", entries)
	}
}

func localPV(name, node, path string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{storage.NodeAnnotation: node}},
		Spec:       corev1.PersistentVolumeSpec{PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: path}}},
	}
}

func TestDelete(t *testing.T) {
	p := newProvisioner(t, "node2")
	dir := filepath.Join(p.Root, "pvc-1_default_data-web-0")
	// What a database leaves: a 0700 directory, files in it.
	if err := os.MkdirAll(filepath.Join(dir, "pgdata", "base"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "pgdata", "base", "1"), []byte("rows"), 0o600)
	os.Chmod(filepath.Join(dir, "pgdata"), 0o700)
	if err := p.Delete(context.Background(), localPV("pvc-1", "node2", dir)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there: %v", dir, err)
	}
	// Retried after a success: nothing to remove, no error.
	if err := p.Delete(context.Background(), localPV("pvc-1", "node2", dir)); err != nil {
		t.Errorf("second delete: %v", err)
	}
}

// A volume object names the path to remove; a hand-written one must not
// make the provisioner remove anything outside its own volume directories.
func TestDeleteRemovesOnlyVolumeDirectories(t *testing.T) {
	p := newProvisioner(t, "node2")
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "keep"), []byte("x"), 0o644)
	other := filepath.Join(p.Root, "pvc-9_default_other")
	os.Mkdir(other, 0o777)
	link := filepath.Join(p.Root, "pvc-3_default_link")
	os.Symlink(outside, link)
	for _, tc := range []struct {
		pv      *corev1.PersistentVolume
		ignored bool
		msg     string
	}{
		{localPV("pvc-1", "node2", outside), false, "is not a volume directory under"},
		{localPV("pvc-1", "node2", p.Root), false, "is not a volume directory under"},
		{localPV("pvc-1", "node2", filepath.Join(p.Root, "pvc-1_x", "..", "..")), false, "is not a volume directory under"},
		{localPV("pvc-1", "node2", other), false, "is not a volume directory under"},
		{localPV("pvc-3", "node2", link), false, "is not a directory"},
		{localPV("pvc-9", "node3", other), true, "on node node3, not node2"},
		{&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pvc-4", Annotations: map[string]string{storage.NodeAnnotation: "node2"}}}, false, "not a local volume"},
	} {
		err := p.Delete(context.Background(), tc.pv)
		var ign *controller.IgnoredError
		if err == nil || errors.As(err, &ign) != tc.ignored || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %q (ignored %v)", tc.pv.Name, err, tc.msg, tc.ignored)
		}
	}
	for _, still := range []string{filepath.Join(outside, "keep"), other, link} {
		if _, err := os.Lstat(still); err != nil {
			t.Errorf("%s was removed: %v", still, err)
		}
	}
}
