package kubeadm

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/kubernetes/cmd/kubeadm/app/util/pubkeypin"

	"github.com/labctl/labctl/internal/testpki"
	"github.com/labctl/labctl/kubeadm/config"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// newCA is a cluster CA as kubeadm init makes one: PEM, and kubeadm's pin.
func newCA(t *testing.T) (pemCA, pin string) {
	t.Helper()
	ca := testpki.NewCA(t, nil)
	return string(ca.PEM), pubkeypin.Hash(ca.Cert)
}

// Workers pin the CA labctl recorded at kubeadm init, whatever node1
// says at join time: an attendee who is root on node1 (and can answer
// any command there, or swap its ca.crt) must not choose the cluster the
// other nodes join. Node1 here answers every CA question with another
// CA's hash.
func TestJoinPinsTheRecordedCA(t *testing.T) {
	recorded, pin := newCA(t)
	_, other := newCA(t)
	otherHex := strings.TrimPrefix(other, "sha256:")
	c := &lab.Cluster{Index: 3, CA: recorded, Nodes: []lab.Node{{Name: "node1", PrivateAddress: "10.89.0.2"}, {Name: "node2", PrivateAddress: "10.89.0.3"}}}
	x1 := remote.NewFake("03/node1").
		On(`kubeadm token create`, "abcdef.0123456789abcdef\n", 0).
		On(`.`, otherHex+"  -\n", 0)
	x2 := remote.NewFake("03/node2").On(`kubeadm join`, "", 0)
	p := &Phase{Context: phase.Context{Lab: &lab.Lab{Kubernetes: lab.KubernetesSpec{Version: "1.33.1"}}, Out: &strings.Builder{}}, Kube: apis{3: fake.NewClientset(node("node1", corev1.ConditionTrue, ""))}.kube}
	if err := p.joinWorkers(context.Background(), c, c.Node("node1"), at(3, "node1", x1), []phase.Target{at(3, "node2", x2)}); err != nil {
		t.Fatal(err)
	}
	cfg, ok := x2.Uploaded(config.JoinConfigPath)
	if !ok {
		t.Fatal("no join configuration uploaded")
	}
	if !strings.Contains(string(cfg), pin) || strings.Contains(string(cfg), otherHex) {
		t.Fatalf("join configuration does not pin the recorded CA %s (node1 said %s):\n%s", pin, other, cfg)
	}
	for _, call := range x1.Calls() {
		if strings.Contains(call, "ca.crt") || strings.Contains(call, "sha256sum") {
			t.Errorf("node1 was asked about its CA: %q", call)
		}
	}
}

// A cluster whose CA labctl did not record (or recorded damaged) joins no
// worker: the error names the cluster, and nothing runs on any node.
func TestJoinWithoutARecordedCA(t *testing.T) {
	for _, c := range []struct{ ca, want string }{
		{"", "cluster 3: labctl recorded no cluster CA"},
		{"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "cluster 3: the cluster CA labctl recorded: not one PEM certificate"},
	} {
		cl := &lab.Cluster{Index: 3, CA: c.ca, Nodes: []lab.Node{{Name: "node1"}, {Name: "node2"}}}
		x1, x2 := remote.NewFake("03/node1").On(`.`, "", 0), remote.NewFake("03/node2").On(`.`, "", 0)
		cs := fake.NewClientset(node("node2", corev1.ConditionTrue, ""))
		p := &Phase{Context: phase.Context{Lab: &lab.Lab{Kubernetes: lab.KubernetesSpec{Version: "1.33.1"}}, Out: &strings.Builder{}}, Kube: apis{3: cs}.kube}
		err := p.joinWorkers(context.Background(), cl, cl.Node("node1"), at(3, "node1", x1), []phase.Target{at(3, "node2", x2)})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "03/node1") {
			t.Fatalf("got %v, want %q", err, c.want)
		}
		if len(x1.Calls())+len(x2.Calls()) > 0 || len(writes(cs)) > 0 {
			t.Fatalf("ran %v %v, API writes %v", x1.Calls(), x2.Calls(), writes(cs))
		}
	}
}
