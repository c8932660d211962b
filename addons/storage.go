package addons

import (
	"slices"

	"github.com/labctl/labctl/addons/storage"
	"github.com/labctl/labctl/artifacts/goimage"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
)

// storageAddon is the default StorageClass of node-local volumes, made by
// labctl's own provisioner (addons/storage): the deck's StatefulSets with
// volumeClaimTemplates, on any lab, offline included.
func storageAddon() Addon {
	return Addon{
		Name: "storage",
		Images: []Image{{Key: "storage", Build: &goimage.Spec{
			Ref: "localhost/labctl/storage", Package: storage.Package, Binary: storage.Binary, User: "0:0"}}},
		Objects: func(e Env) ([]kube.Object, error) {
			var out []kube.Object
			for _, o := range storage.Objects(e.Image("storage")) {
				out = append(out, o)
			}
			return out, nil
		},
		// Two default classes would leave claims without a class to the
		// API server's pick (the newest): one lab, one default.
		Needs: func(l *lab.Lab) string {
			if slices.Contains(l.Addons, "portworx") {
				return "no portworx (both make the default StorageClass): keep one of them in addons"
			}
			return ""
		},
	}
}
