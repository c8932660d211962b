package main

import (
	"github.com/labctl/labctl/addons/storage"

	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
)

// TestControllersOnTwoNodes runs the library's controller with the
// provisioners of node2 and node3 against one (fake) API server, as the
// DaemonSet does: the claim the scheduler put on node3 gets a volume from
// node3's provisioner only, on node3's disk, pinned to node3; released,
// it is removed by node3's provisioner, directory first.
func TestControllersOnTwoNodes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl := fake.NewClientset(node("node2", "node2"), node("node3", "node3"), class(), claim("data-db-0", "node3"))
	roots := map[string]string{}
	for _, n := range []string{"node2", "node3"} {
		p, err := New(ctx, cl, n, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		roots[n] = p.Root
		go Controller(ctx, cl, p).Run(ctx)
	}

	var pv *corev1.PersistentVolume
	poll(t, "a volume for the claim", func() (bool, error) {
		pvs, err := cl.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
		if err != nil || len(pvs.Items) == 0 {
			return false, err
		}
		if len(pvs.Items) > 1 {
			t.Fatalf("%d volumes for one claim", len(pvs.Items))
		}
		pv = &pvs.Items[0]
		return true, nil
	})
	dir := filepath.Join(roots["node3"], "pvc-uid-data-db-0_default_data-db-0")
	if pv.Name != "pvc-uid-data-db-0" || pv.Spec.Local == nil || pv.Spec.Local.Path != dir || pv.Annotations[storage.NodeAnnotation] != "node3" ||
		pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.Name != "data-db-0" || pv.Spec.StorageClassName != storage.ClassName ||
		pv.Annotations["pv.kubernetes.io/provisioned-by"] != storage.ProvisionerName {
		t.Errorf("volume %+v", pv)
	}
	if v := pv.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Values; len(v) != 1 || v[0] != "node3" {
		t.Errorf("volume pinned to %v, want node3", v)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("node3's directory: %v", err)
	}
	if entries, _ := os.ReadDir(roots["node2"]); len(entries) != 0 {
		t.Errorf("node2's provisioner made %v for a claim on node3", entries)
	}
	os.WriteFile(filepath.Join(dir, "data"), []byte("rows"), 0o600)

	// The claim is deleted: the PV controller marks its volume Released.
	pv.Status.Phase = corev1.VolumeReleased
	if _, err := cl.CoreV1().PersistentVolumes().UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the released volume deleted", func() (bool, error) {
		_, err := cl.CoreV1().PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the volume is gone but its data is not: %v", err)
	}
}

func poll(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) { return cond() })
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
