package addons

import (
	"errors"
	"strings"
	"testing"

	storagev1 "k8s.io/api/storage/v1"
)

// The storage add-on is built from labctl's own module: offline labs get
// it, and its objects run the image the phase built.
func TestStorageSelectedOffline(t *testing.T) {
	sel, err := Selected(testLab("cache", "bridge", "storage"), Registry())
	if err != nil {
		t.Fatal(err)
	}
	if Names(sel) != "netcheck, netpol, storage" {
		t.Fatalf("selected %s", Names(sel))
	}
	st := sel[2]
	if len(st.Images) != 1 || !st.Images[0].Own() || st.Images[0].Build.Package != "./addons/storage/cmd/labctl-storage" {
		t.Errorf("images %+v", st.Images)
	}
	objs, err := Render([]Addon{st}, Env{Images: map[string]string{"storage": "localhost/labctl/storage:abc"}})
	if err != nil {
		t.Fatal(err)
	}
	var class *storagev1.StorageClass
	for _, o := range objs {
		if c, ok := o.(*storagev1.StorageClass); ok {
			class = c
		}
		if o.GetLabels()[LabelAddon] != "storage" {
			t.Errorf("%s not labelled as the add-on's", o.GetName())
		}
	}
	if class == nil || class.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" {
		t.Errorf("no default class in %d objects", len(objs))
	}
}

// Two add-ons that each make the default class: bad input, said before
// anything changes.
func TestStorageWithPortworxRefused(t *testing.T) {
	_, err := Selected(withNodes(testLab("packages", "bridge", "storage", "portworx"), 3, "10G"), Registry())
	var se *SelectError
	if !errors.As(err, &se) || !se.BadInput || !strings.Contains(err.Error(), "addons: storage needs no portworx") {
		t.Errorf("err %v", err)
	}
}
