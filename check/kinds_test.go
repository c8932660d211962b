package check

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/labctl/labctl/remote"

	"github.com/labctl/labctl/kube/kubefake"
)

func meta(ns, name string, l map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l}
}

func deploy(name, image string, ready, updated int32, live bool) *appsv1.Deployment {
	c := corev1.Container{Name: name, Image: image}
	if live {
		c.LivenessProbe = &corev1.Probe{}
	}
	return &appsv1.Deployment{
		ObjectMeta: meta("default", name, nil),
		Spec:       appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}},
		Status:     appsv1.DeploymentStatus{ReadyReplicas: ready, UpdatedReplicas: updated},
	}
}

func pod(name, node string, l map[string]string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: meta("default", name, l), Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
}

func node(name string, taint bool) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if taint {
		n.Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
	}
	return n
}

func slice(svc string, ready ...bool) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{ObjectMeta: meta("default", svc+"-abc", map[string]string{discoveryv1.LabelServiceName: svc})}
	for i, r := range ready {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.0.0." + string(rune('1'+i))}, Conditions: discoveryv1.EndpointConditions{Ready: &r}})
	}
	return s
}

func helmSecret(ns, release, version, status string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: meta(ns, "sh.helm.release.v1."+release+".v"+version, map[string]string{"owner": "helm", "name": release, "version": version, "status": status})}
}

// env is a cluster of fake clients holding objs.
func env(objs ...runtime.Object) Env {
	return Env{Typed: kubefake.New(objs...), Dynamic: dynamicfake.NewSimpleDynamicClient(scheme.Scheme, objs...), User: "k8s"}
}

func svc(name string) *corev1.Service { return &corev1.Service{ObjectMeta: meta("default", name, nil)} }

func check(t *testing.T, k Check) Check {
	t.Helper()
	if err := k.validate(); err != nil {
		t.Fatalf("%+v: %s: %s", k, err.field, err.msg)
	}
	return k
}

// Every kind, passing and failing, with what it says it saw.
func TestKinds(t *testing.T) {
	testweb := pod("testweb", "node2", map[string]string{"run": "testweb"}, corev1.PodRunning)
	policy := &networkingv1.NetworkPolicy{ObjectMeta: meta("default", "deny-testweb", nil), Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"run": "testweb"}}}}
	other := &networkingv1.NetworkPolicy{ObjectMeta: meta("default", "other", nil), Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}}}
	for _, tc := range []struct {
		name string
		k    Check
		env  Env
		ok   bool
		saw  string
	}{
		{"exists by name", Check{ID: "a", Kind: "exists", Resource: "Namespace", Name: "blue"}, env(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "blue"}}), true, "namespace blue exists"},
		{"exists by name, missing", Check{ID: "a", Kind: "exists", Resource: "ServiceAccount", Name: "viewer"}, env(), false, "serviceaccount viewer: not found"},
		{"exists by selector", Check{ID: "a", Kind: "exists", Resource: "Pod", Selector: "run=testweb"}, env(testweb), true, "1 pod with run=testweb (testweb...)"},
		{"exists by selector, none", Check{ID: "a", Kind: "exists", Resource: "Pod", Selector: "run=testweb"}, env(pod("x", "n", map[string]string{"run": "other"}, corev1.PodRunning)), false, "no pods with run=testweb"},
		{"deployment ready", Check{ID: "a", Kind: "deployment", Name: "worker", Replicas: 10}, env(deploy("worker", "dockercoins/worker:v0.1", 10, 10, false)), true, "deployment worker: 10 ready replicas"},
		{"deployment short", Check{ID: "a", Kind: "deployment", Name: "worker", Replicas: 10}, env(deploy("worker", "dockercoins/worker:v0.1", 2, 2, false)), false, "deployment worker: 2 ready replicas, want 10"},
		{"deployment missing", Check{ID: "a", Kind: "deployment", Name: "pingpong"}, env(), false, "deployment pingpong: not found"},
		{"deployment image", Check{ID: "a", Kind: "deployment", Name: "worker", Image: ":v0.2"}, env(deploy("worker", "dockercoins/worker:v0.1", 3, 3, false)), false, "deployment worker: image dockercoins/worker:v0.1, want :v0.2"},
		{"deployment image rolling", Check{ID: "a", Kind: "deployment", Name: "worker", Image: ":v0.2"}, env(deploy("worker", "dockercoins/worker:v0.2", 3, 0, false)), false, "deployment worker: 0 ready replicas, want 1"},
		{"deployment image done", Check{ID: "a", Kind: "deployment", Name: "worker", Image: ":v0.2"}, env(deploy("worker", "dockercoins/worker:v0.2", 3, 3, false)), true, "deployment worker: 3 ready replicas"},
		{"deployment probe", Check{ID: "a", Kind: "deployment", Name: "rng", Probe: "liveness"}, env(deploy("rng", "rng", 1, 1, false)), false, "deployment rng: no liveness probe"},
		{"deployment probe ok", Check{ID: "a", Kind: "deployment", Name: "rng", Probe: "liveness"}, env(deploy("rng", "rng", 1, 1, true)), true, "deployment rng: 1 ready replica"},
		{"endpoints", Check{ID: "a", Kind: "endpoints", Name: "httpenv", Endpoints: 2}, env(svc("httpenv"), slice("httpenv", true, true, false)), true, "service httpenv: 2 ready endpoints"},
		{"endpoints short", Check{ID: "a", Kind: "endpoints", Name: "httpenv", Endpoints: 3}, env(svc("httpenv"), slice("httpenv", true, false)), false, "service httpenv: 1 ready endpoint, want 3"},
		{"endpoints no service", Check{ID: "a", Kind: "endpoints", Name: "httpenv"}, env(), false, "service httpenv: not found"},
		{"everynode", Check{ID: "a", Kind: "everynode", Selector: "app=rng"}, env(node("node1", true), node("node2", false), node("node3", false),
			pod("rng-a", "node2", map[string]string{"app": "rng"}, corev1.PodRunning), pod("rng-b", "node3", map[string]string{"app": "rng"}, corev1.PodRunning)), true, "pods app=rng: running on all 2 nodes"},
		{"everynode missing", Check{ID: "a", Kind: "everynode", Selector: "app=rng"}, env(node("node1", true), node("node2", false), node("node3", false),
			pod("rng-a", "node2", map[string]string{"app": "rng"}, corev1.PodRunning), pod("rng-b", "node3", map[string]string{"app": "rng"}, corev1.PodPending)), false, "pods app=rng: none running on node3"},
		{"netpol", Check{ID: "a", Kind: "netpol", Selector: "run=testweb"}, env(testweb, other, policy), true, "networkpolicy deny-testweb selects pod testweb"},
		{"netpol none", Check{ID: "a", Kind: "netpol", Selector: "run=testweb"}, env(testweb, other), false, "no networkpolicy selects a pod with run=testweb (1 policy in default)"},
		{"netpol no pod", Check{ID: "a", Kind: "netpol", Selector: "run=testweb"}, env(policy), false, "no pod with run=testweb in default"},
		{"helm", Check{ID: "a", Kind: "helm", Name: "dockercoins"}, env(helmSecret("default", "dockercoins", "1", "superseded"), helmSecret("default", "dockercoins", "2", "deployed")), true, "helm release dockercoins: deployed (revision 2)"},
		{"helm failed", Check{ID: "a", Kind: "helm", Name: "dockercoins"}, env(helmSecret("default", "dockercoins", "1", "failed")), false, "helm release dockercoins: none deployed (dockercoins revision 1 failed)"},
		{"helm none", Check{ID: "a", Kind: "helm", Namespace: "blue"}, env(helmSecret("default", "x", "1", "deployed")), false, "helm releases: none in blue"},
		{"mining no webui", Check{ID: "a", Kind: "mining"}, env(), false, "service webui: not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Eval(context.Background(), tc.env, check(t, tc.k))
			if r.OK != tc.ok || r.Saw != tc.saw {
				t.Errorf("got ok=%v %q, want ok=%v %q", r.OK, r.Saw, tc.ok, tc.saw)
			}
		})
	}
}

// An API error is a failed check that says it.
func TestKindAPIError(t *testing.T) {
	e := env()
	kubefake.Clientset(e.Typed).PrependReactor("get", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	r := Eval(context.Background(), e, check(t, Check{ID: "a", Kind: "deployment", Name: "worker"}))
	if r.OK || r.Saw != "connection refused" {
		t.Errorf("got %+v", r)
	}
}

// Mining reads webui's /json through the service proxy.
func TestMining(t *testing.T) {
	for _, tc := range []struct {
		body, saw string
		ok        bool
	}{
		// What DockerCoins' webui sends: Redis's GET, a string (or null).
		{`{"coins": 3, "hashes": "1234", "now": 1700000000.5}`, "webui: 1234 hashes mined", true},
		{`{"coins": 0, "hashes": null, "now": 1700000000.5}`, "webui: 0 hashes mined", false},
		{`{"coins": 0, "hashes": "lots", "now": 1700000000.5}`, `webui: webui /json: hashes "lots" is not a count`, false},
		{`{"coins": 3, "hashes": 1234, "now": 1700000000.5}`, "webui: 1234 hashes mined", true},
		{`{"coins": 0, "hashes": 0, "now": 1700000000.5}`, "webui: 0 hashes mined", false},
		{`<script>`, "webui: webui /json: invalid character '<' looking for beginning of value", false},
	} {
		e := env(svc("webui"))
		kubefake.Clientset(e.Typed).AddProxyReactor("services", func(k8stesting.Action) (bool, rest.ResponseWrapper, error) {
			return true, body(tc.body), nil
		})
		r := Eval(context.Background(), e, check(t, Check{ID: "a", Kind: "mining"}))
		if r.OK != tc.ok || r.Saw != tc.saw {
			t.Errorf("%s: got ok=%v %q, want %q", tc.body, r.OK, r.Saw, tc.saw)
		}
	}
}

// A context check reads the attendee's kubeconfig on node1 (a hostile
// file: only names are parsed).
func TestContext(t *testing.T) {
	kc := "apiVersion: v1\ncontexts:\n- name: kubernetes-admin@kubernetes\n  context: {cluster: kubernetes}\n- name: blue\n  context: {namespace: blue}\nusers: [{name: x, user: {token: secret}}]\n"
	for _, tc := range []struct {
		stdout string
		err    error
		ok     bool
		saw    string
	}{
		{kc, nil, true, "context blue exists"},
		{strings.Replace(kc, "name: blue", "name: green", 1), nil, false, "context blue: not in kubeconfig (2: kubernetes-admin@kubernetes, green)"},
		{"", nil, false, "no kubeconfig for k8s on node1"},
		{"contexts: [: nope", nil, false, "kubeconfig: not valid YAML"},
		{"", errors.New("01/node1: dial: connection refused"), false, "01/node1: dial: connection refused"},
	} {
		f := remote.NewFake("01/node1")
		if tc.err != nil {
			f.OnError("kube/config", tc.err)
		} else {
			f.On("/home/k8s/.kube/config", tc.stdout, 0)
		}
		e := env()
		e.Node1 = f
		r := Eval(context.Background(), e, check(t, Check{ID: "a", Kind: "context", Context: "blue"}))
		if r.OK != tc.ok || r.Saw != tc.saw {
			t.Errorf("got ok=%v %q, want %q", r.OK, r.Saw, tc.saw)
		}
	}
	e := env()
	r := Eval(context.Background(), e, check(t, Check{ID: "a", Kind: "context", Context: "blue"}))
	if r.OK || r.Saw != "node1 not reachable: cannot read the kubeconfig" {
		t.Errorf("no node1: %+v", r)
	}
}

type body string

func (b body) DoRaw(context.Context) ([]byte, error) { return []byte(b), nil }
func (b body) Stream(context.Context) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(string(b))), nil
}
