package addons

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

const testKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: k, cluster: {server: "https://10.0.0.1:6443"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
current-context: c
`

// An After hook runs on every run, the digest unchanged included (new
// nodes' certificate requests), with the cluster's nodes; its failure
// fails the cluster under the add-on's name and records no digest.
func TestAfterRunsEveryTime(t *testing.T) {
	var seen []ClusterInfo
	var fail error
	hooked := Addon{Name: "hooked", After: func(_ context.Context, cl *kube.Client, c ClusterInfo) error {
		if cl == nil {
			t.Error("no client")
		}
		seen = append(seen, c)
		return fail
	}}
	sel := []Addon{hooked}
	digest, _ := digestOf(nil)
	node1 := remote.NewFake("01/node1").On(`^cat /etc/kubernetes/admin.conf$`, testKubeconfig, 0)
	nodes := []lab.Node{{Name: "node1", PrivateAddress: "10.0.0.1"}, {Name: "node2", PrivateAddress: "10.0.0.2"}}
	var run testRun
	var out bytes.Buffer
	p := testPhase(oneCluster(digest, nodes...), &out, 1, &run, node1)
	p.Addons = sel
	p.Kube = func(context.Context, int) (*kube.Client, error) { return &kube.Client{Name: "01/node1"}, nil }
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0].Index != 1 || len(seen[0].Nodes) != 2 || seen[0].Nodes[1].PrivateAddress != "10.0.0.2" {
		t.Errorf("hook saw %+v", seen)
	}
	if len(run.outcomes) != 1 || len(run.applied) != 1 || run.applied[0] != digest || !strings.Contains(out.String(), "add-ons unchanged") {
		t.Errorf("outcomes %+v, applied %q, output %s", run.outcomes, run.applied, out.String())
	}

	fail = errors.New("01/node2: no verified kubelet serving certificate")
	run = testRun{}
	err := p.Run(context.Background())
	got := run.outcomes
	if err == nil || len(got) != 1 || got[0].Step != "addons hooked" || len(run.applied) != 0 || !strings.Contains(got[0].Err.Error(), "cluster 01: add-ons: hooked: 01/node2") {
		t.Errorf("err %v, outcomes %+v, applied %q", err, got, run.applied)
	}
}

func TestMetricsServerSelected(t *testing.T) {
	sel, err := Selected(testLab("cache", "bridge", "metrics-server"), Registry())
	if err != nil {
		t.Fatal(err)
	}
	if !KubeletServingCerts(sel) {
		t.Error("metrics-server does not ask for kubelet serving certificates")
	}
	if none, _ := Selected(testLab("cache", "bridge"), Registry()); KubeletServingCerts(none) {
		t.Error("a lab without metrics-server asks for kubelet serving certificates")
	}
}
