package kube

import (
	"strings"
	"testing"
)

// A vendor manifest as spec services write them: documents separated by
// ---, an empty one, a List, a comment-only document.
func TestDecode(t *testing.T) {
	manifest := `# generated
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: px-account, namespace: kube-system}
---
---
# nothing here
---
apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: node-get-put-list-role}
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: portworx, namespace: kube-system}
`
	objs, err := Decode([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		r, err := RefOf(o)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ToUnstructured(o); err != nil {
			t.Fatal(err)
		}
		got = append(got, r.String())
	}
	if strings.Join(got, ", ") != "ServiceAccount kube-system/px-account, ClusterRole/node-get-put-list-role, DaemonSet kube-system/portworx" {
		t.Errorf("decoded %v", got)
	}
	for _, bad := range []string{"kind: Pod\nmetadata: {name: x}\n", "apiVersion: v1\nkind: [\n", "<html>Service Unavailable</html>\n"} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) accepted it", bad)
		}
	}
}
