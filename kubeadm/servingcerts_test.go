package kubeadm

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/labctl/labctl/kubeadm/config"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// servingCluster is a joined 1×2 cluster whose probes say which kubelets
// have serverTLSBootstrap on.
func servingCluster(node1On, node2On bool) (*lab.Cluster, map[string]*remote.Fake) {
	fact := func(on bool) string {
		if on {
			return config.ServingCertsFact + "\n"
		}
		return ""
	}
	x1 := remote.NewFake("01/node1").
		On(`kubeadm init phase upload-config kubelet`, "[upload-config] Storing the configuration\n", 0).
		On(`^set -e; f=/var/lib/kubelet/config.yaml`, "", 0).
		On(`admin.conf && echo initialized`, "initialized\nkubeconfig\nkubelet-active\n"+fact(node1On)+"ca: abc\ntmpfs\n", 0)
	x2 := remote.NewFake("01/node2").
		On(`^set -e; f=/var/lib/kubelet/config.yaml`, "", 0).
		On(`kubelet-conf`, "kubelet-conf\nkubelet-active\n"+fact(node2On)+"ca: abc\n", 0)
	c := &lab.Cluster{Index: 1, Nodes: []lab.Node{{Name: "node1", PrivateAddress: "10.89.0.2"}, {Name: "node2", PrivateAddress: "10.89.0.3"}}}
	return c, map[string]*remote.Fake{"node1": x1, "node2": x2}
}

func servingPhase(want bool, xs map[string]*remote.Fake) *Phase {
	l := &lab.Lab{}
	l.Kubernetes.Version = "1.34.4"
	ready := apis{1: fake.NewClientset(node("node1", corev1.ConditionTrue, ""), node("node2", corev1.ConditionTrue, ""))}
	return &Phase{Context: phase.Context{Lab: l, Out: io.Discard, Exec: func(_ int, n string) remote.Executor { return xs[n] }}, InContainer: true, ServingCerts: want, Kube: ready.kube}
}

// A cluster made before metrics-server was selected converges: the
// kubelet-config ConfigMap from node1 first, then every kubelet.
func TestServingCertsConvergeExistingCluster(t *testing.T) {
	c, xs := servingCluster(false, false)
	p := servingPhase(true, xs)
	facts, w, nodes, err := p.probe(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(clusterPlan(c, facts, w, nodes, false), "; ")
	if !strings.Contains(plan, "(serverTLSBootstrap) on node1, node2") {
		t.Fatalf("plan: %s", plan)
	}
	n1 := c.Node("node1")
	if err := p.servingCerts(context.Background(), c, n1, at(c.Index, "node1", xs["node1"]), true, w.serving); err != nil {
		t.Fatal(err)
	}
	cfg, ok := xs["node1"].Uploaded(config.InitConfigPath)
	if !ok || !bytes.Contains(cfg, []byte("\nserverTLSBootstrap: true\n")) {
		t.Errorf("init configuration for the ConfigMap:\n%s", cfg)
	}
	calls1 := xs["node1"].Calls()
	upload := slices.IndexFunc(calls1, func(s string) bool { return strings.Contains(s, "upload-config kubelet") })
	edit := slices.Index(calls1, config.ServingCertsCommand(true))
	if upload < 0 || edit < upload {
		t.Errorf("node1 ran %q", calls1)
	}
	if calls2 := xs["node2"].Calls(); !slices.Contains(calls2, config.ServingCertsCommand(true)) || slices.ContainsFunc(calls2, func(s string) bool { return strings.Contains(s, "upload-config") }) {
		t.Errorf("node2 ran %q", calls2)
	}
}

// Only the nodes that differ from the lab are touched; a cluster that
// matches has nothing to do, whether the lab wants serving certs or not.
func TestServingCertsOnlyWhereItDiffers(t *testing.T) {
	for _, tc := range []struct {
		want, node1, node2 bool
		touched            []string
	}{
		{true, true, true, nil},
		{false, false, false, nil},
		{true, true, false, []string{"01/node2"}},
		{false, true, true, []string{"01/node1", "01/node2"}}, // metrics-server removed: back to self-signed
	} {
		c, xs := servingCluster(tc.node1, tc.node2)
		p := servingPhase(tc.want, xs)
		facts, w, nodes, err := p.probe(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range w.serving {
			got = append(got, x.Name())
		}
		if !slices.Equal(got, tc.touched) {
			t.Errorf("%+v: serving %v", tc, got)
		}
		if plan := clusterPlan(c, facts, w, nodes, false); (len(plan) == 0) != (len(tc.touched) == 0) {
			t.Errorf("%+v: plan %q", tc, plan)
		}
	}
}
