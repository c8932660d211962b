package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"

	"github.com/labctl/labctl/addons"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
)

// TestOnlineAddons proves what can be proven of the two online-only
// add-ons without the Internet: a cache lab asking for them is refused
// before any node exists, and a real API server (a 1 × 1 local lab)
// accepts every object labctl would apply for Weave Net and Portworx in a
// server-side dry run, storing none of them.
func TestOnlineAddons(t *testing.T) {
	needE2E(t)

	t.Run("refused offline before any node is touched", func(t *testing.T) {
		for _, tc := range []struct{ name, body, want string }{
			{"i9w-off-weave", "nodesPerCluster: 1\nkubernetes: {cni: weave, source: cache}\n", "kubernetes.cni: weave cannot be installed offline"},
			{"i9w-off-px", "nodesPerCluster: 3\nkubernetes: {cni: bridge, source: cache}\naddons: [portworx]\n", "addons: portworx cannot be installed offline"},
		} {
			l := newLab(t, tc.name, tc.body)
			r := labctl(t, l, "", "up")
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Errorf("%s: exit %d, stderr %q; want exit 2 and one line with %q", tc.name, r.code, r.stderr, tc.want)
			}
			out, _ := exec.Command("podman", "ps", "-aq", "--filter", "label=labctl.lab="+tc.name).Output()
			if strings.TrimSpace(string(out)) != "" {
				t.Errorf("%s: containers exist after the refusal: %s", tc.name, out)
			}
		}
	})

	l := newLab(t, "i9w-dry", "nodesPerCluster: 1\nnodes: {docker: false}\nkubernetes: {version: \"1.34.4\", cni: bridge, source: cache}\n")
	if r := labctl(t, l, "", "up"); r.code != 0 {
		t.Fatalf("up failed (exit %d): %s", r.code, r.stderr)
	}
	st, err := lab.ReadState(l.state)
	if err != nil {
		t.Fatal(err)
	}
	eng, x1 := engineFor(t, l, st, 1, "node1")
	defer eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl, err := kube.Connect(ctx, x1, kube.RecordedOf(st.Cluster(1)), nil)
	if err != nil {
		t.Fatal(err)
	}

	// The objects as an online lab of the course renders them: Weave Net
	// as its CNI and Portworx in its add-ons, labelled by the phase.
	online, err := lab.Parse("lab.yaml", []byte("name: i9w-dry\nnodesPerCluster: 3\nkubernetes: {version: \"1.34.4\", cni: weave, source: packages}\naddons: [portworx]\n"))
	if err != nil {
		t.Fatal(err)
	}
	sel, err := addons.Selected(online, addons.Registry())
	if err != nil {
		t.Fatal(err)
	}
	var want []addons.Addon
	for _, a := range sel {
		if a.Name == "weave" || a.Name == "portworx" {
			want = append(want, a)
		}
	}
	objs, err := addons.Render(want, addons.Env{Lab: online, Images: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 7 {
		t.Fatalf("rendered %d objects, want weave's 6 and portworx's StorageClass", len(objs))
	}
	accepted, err := cl.DryRun(ctx, objs)
	if err != nil {
		t.Fatalf("the API server refused: %v", err)
	}
	for i, u := range accepted {
		ref, _ := kube.RefOf(objs[i])
		if u.GetName() != objs[i].GetName() || u.GetLabels()[addons.LabelManagedBy] != "labctl" {
			t.Errorf("%s: the server answered %s with labels %v", ref, u.GetName(), u.GetLabels())
		}
		t.Logf("accepted %s", ref)
	}
	// Defaulting ran: the server filled what the typed objects left out.
	if n, ok, _ := unstructured.NestedInt64(accepted[5].Object, "spec", "revisionHistoryLimit"); !ok || n == 0 {
		t.Errorf("the DaemonSet came back undefaulted: %v", accepted[5].Object["spec"])
	}
	if p, _, _ := unstructured.NestedString(accepted[6].Object, "reclaimPolicy"); p != "Delete" {
		t.Errorf("the StorageClass came back with reclaimPolicy %q", p)
	}
	// Nothing was stored.
	cs, err := kubernetes.NewForConfig(cl.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().DaemonSets("kube-system").Get(ctx, "weave-net", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("weave-net DaemonSet after a dry run: %v", err)
	}
	if _, err := cs.StorageV1().StorageClasses().Get(ctx, "portworx-replicated", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("portworx-replicated StorageClass after a dry run: %v", err)
	}

	// A refusal names the object: the check above is not vacuous.
	bad, _ := addons.Render(want[:1], addons.Env{Lab: online})
	bad[5].SetName("Weave_Net")
	if _, err := cl.DryRun(ctx, bad); err == nil || !strings.Contains(err.Error(), "DaemonSet kube-system/Weave_Net") {
		t.Errorf("an invalid name was not refused by name: %v", err)
	}
}
