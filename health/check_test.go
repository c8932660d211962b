package health

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/kube/kubefake"
	"github.com/labctl/labctl/remote"
)

func node(name string, ready bool) *corev1.Node {
	s := corev1.ConditionFalse
	if ready {
		s = corev1.ConditionTrue
	}
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: s}}}}
}

func pod(ns, name, nodeName, ip string, ready bool, labels map[string]string) *corev1.Pod {
	s := corev1.ConditionFalse
	if ready {
		s = corev1.ConditionTrue
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:   corev1.PodSpec{NodeName: nodeName},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: s}}}}
	if !ready {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "coredns", RestartCount: 3, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	}
	return p
}

func cluster(corednsReady bool) *kube.Client {
	probe := map[string]string{"app": Name}
	objs := []runtime.Object{
		node("node1", true), node("node2", true),
		pod("kube-system", "coredns-1", "node2", "10.244.1.2", corednsReady, nil),
		pod(Namespace, "nc-a", "node1", "10.244.0.5", true, probe),
		pod(Namespace, "nc-b", "node2", "10.244.1.5", true, probe),
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: Namespace, Name: Name}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.7.7"}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.1"}},
	}
	return &kube.Client{Name: "01/node1", Typed: kubefake.New(objs...)}
}

func answer(node string, dnsOK bool, peers []Probe) string {
	a := Answer{Node: node, DNS: Probe{Target: ServiceDNS, OK: dnsOK, Saw: "10.96.7.7"}, Peers: peers,
		TCP: []Probe{{Target: "10.96.0.1:443", OK: true, Saw: "connected"}}}
	if !dnsOK {
		a.DNS.Saw = "lookup " + ServiceDNS + ": i/o timeout"
	}
	b, _ := json.Marshal(a)
	return string(b)
}

// The checks ask each node for the ClusterIP and its own probe pod's view,
// with the other node's probe pod as peer, and pass when all answer.
func TestCheckPasses(t *testing.T) {
	n1 := remote.NewFake("01/node1").On(`10\.244\.0\.5:8080/check\?dns=`+ServiceDNS+`&peer=10\.244\.1\.5%3A8080&tcp=10\.96\.0\.1%3A443`,
		"clusterip: pong node2 \npod: "+answer("node1", true, []Probe{{Target: "10.244.1.5:8080", OK: true, Saw: "pong node2"}})+"\n", 0)
	n2 := remote.NewFake("01/node2").On(`http://10\.96\.7\.7:80/ping.*10\.244\.1\.5:8080/check.*peer=10\.244\.0\.5`,
		"clusterip: pong node1 \npod: "+answer("node2", true, []Probe{{Target: "10.244.0.5:8080", OK: true, Saw: "pong node1"}})+"\n", 0)
	r := Check(context.Background(), cluster(true), map[string]remote.Executor{"node1": n1, "node2": n2})
	f := r.Findings
	if len(r.Probes) != 2 || r.Probes["node1"] != n1.Calls()[0] {
		t.Errorf("probes %v do not record the commands run", r.Probes)
	}
	if len(f) != 0 {
		t.Fatalf("findings on a healthy cluster:\n%s", Summary(f))
	}
	if len(n1.Calls()) != 1 || len(n2.Calls()) != 1 {
		t.Errorf("want one command per node, got %d and %d", len(n1.Calls()), len(n2.Calls()))
	}
}

// What the course met: CoreDNS not Ready, no ClusterIP from node1, no DNS
// from node2's pod, node2's pod cannot reach node1's. Each finding names
// the node, the check and what was seen.
func TestCheckNamesNodeCheckAndWhatItSaw(t *testing.T) {
	n1 := remote.NewFake("01/node1").On(`check`,
		"clusterip: curl: (28) Connection timed out after 3001 milliseconds \npod: "+answer("node1", true, []Probe{{Target: "10.244.1.5:8080", OK: true, Saw: "pong node2"}})+"\n", 0)
	n2 := remote.NewFake("01/node2").On(`check`,
		"clusterip: pong node2 \npod: "+answer("node2", false, []Probe{{Target: "10.244.0.5:8080", Saw: "context deadline exceeded"}})+"\n", 0)
	f := Check(context.Background(), cluster(false), map[string]remote.Executor{"node1": n1, "node2": n2}).Findings
	got := Summary(f)
	for _, want := range []string{
		"node1: clusterip: curl http://10.96.7.7:80/ping from the node: curl: (28) Connection timed out",
		"node2: kube-system: pod coredns-1 not Ready: Running; coredns running, not ready (3 restarts)",
		"node2: dns: lookup " + ServiceDNS + " from pod 10.244.1.5: lookup " + ServiceDNS + ": i/o timeout",
		"node2: pod-to-pod: pod 10.244.1.5 to node1's pod 10.244.0.5:8080: context deadline exceeded",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("findings lack %q:\n%s", want, got)
		}
	}
	if len(f) != 4 {
		t.Errorf("%d findings, want 4:\n%s", len(f), got)
	}
}

func TestCheckWithoutProbePodOrAnswer(t *testing.T) {
	cl := cluster(true)
	kubefake.Clientset(cl.Typed).CoreV1().Pods(Namespace).Delete(context.Background(), "nc-b", metav1.DeleteOptions{})
	n1 := remote.NewFake("01/node1").On(`check`, "clusterip: pong node1\npod: curl: (7) Failed to connect\n", 0)
	f := Check(context.Background(), cl, map[string]remote.Executor{"node1": n1, "node2": remote.NewFake("01/node2")}).Findings
	got := Summary(f)
	for _, want := range []string{"node2: netcheck: no Ready labctl-netcheck pod on this node", "node1: netcheck: probe pod 10.244.0.5 did not answer: curl: (7) Failed to connect"} {
		if !strings.Contains(got, want) {
			t.Errorf("findings lack %q:\n%s", want, got)
		}
	}
}

func TestNodeCommandRunsInAShell(t *testing.T) {
	line := nodeCommand("10.96.7.7", "10.244.0.5", []string{"10.244.1.5:8080"}, []string{"10.96.0.1:443"})
	if strings.Count(line, "curl") != 2 || !strings.Contains(line, "--max-time") {
		t.Fatalf("command %q", line)
	}
	// Run it for real with curl pointing nowhere: both lines still come back.
	out, err := exec.Command("bash", "-c", nodeCommand("127.0.0.1:1", "127.0.0.1", nil, nil)).Output()
	if err != nil {
		t.Fatal(err)
	}
	svc, pod, podErr := parseNodeOutput(string(out))
	if strings.HasPrefix(svc, "pong") || pod != nil || podErr == "" {
		t.Fatalf("svc %q pod %v podErr %q from %q", svc, pod, podErr, out)
	}
}
