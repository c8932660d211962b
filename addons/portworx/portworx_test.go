package portworx

import (
	"net/url"
	"testing"

	storagev1 "k8s.io/api/storage/v1"

	"github.com/labctl/labctl/addons/internal/addontest"
	"github.com/labctl/labctl/internal/golden"
)

func TestGolden(t *testing.T) {
	addontest.Golden(t, "objects.golden.yaml", Objects())
	golden.Check(t, "spec-url.golden", SpecURL("1.34.4", ClusterName("k8s-101"))+"\n")
}

// The deck's query: the cluster's Kubernetes version, the embedded
// key/value store, the loop device nodeprep attaches, a cluster name, STORK.
func TestSpecURL(t *testing.T) {
	u, err := url.Parse(SpecURL("1.33.2", ClusterName("room-b")))
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "https" || u.Host != "install.portworx.com" || u.Path != "/"+Version {
		t.Errorf("spec service %s", u)
	}
	q := u.Query()
	for k, v := range map[string]string{"kbver": "1.33.2", "b": "true", "s": "/dev/loop4", "c": "px-room-b", "stork": "true", "csi": "true"} {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
}

func TestStorageClass(t *testing.T) {
	objs := Objects()
	sc, ok := objs[0].(*storagev1.StorageClass)
	if len(objs) != 1 || !ok {
		t.Fatalf("objects %v", objs)
	}
	if sc.Name != "portworx-replicated" || sc.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" ||
		sc.Parameters["repl"] != "2" || sc.Provisioner != Provisioner {
		t.Errorf("storage class %+v", sc)
	}
}
