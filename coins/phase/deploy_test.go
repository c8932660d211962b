package phase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	restclient "k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/labctl/labctl/coins/manifests"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/kube/kubefake"
)

// api stands for one cluster's API server: server-side applies are
// recorded (a Deployment applied shows up, rolled out or not, among the
// typed objects), and the webui Service's /json answers the counter values
// in turn ("" is "no such service yet"; the last repeats).
type api struct {
	typed   *fake.Clientset
	dynamic *dynamicfake.FakeDynamicClient

	mu      sync.Mutex
	applied []string // "Kind namespace/name"
	counter []string
	proxied []string // service:port/path asked
}

func newAPI(t *testing.T, rollsOut bool, counter ...string) *api {
	a := &api{typed: fake.NewClientset(), dynamic: dynamicfake.NewSimpleDynamicClient(scheme.Scheme), counter: counter}
	a.dynamic.PrependReactor("patch", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		pa := action.(k8stesting.PatchAction)
		if pa.GetPatchType() != types.ApplyPatchType {
			return true, nil, fmt.Errorf("patch type %s, want server-side apply", pa.GetPatchType())
		}
		u := &unstructured.Unstructured{}
		if err := json.Unmarshal(pa.GetPatch(), &u.Object); err != nil {
			return true, nil, err
		}
		a.mu.Lock()
		a.applied = append(a.applied, fmt.Sprintf("%s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName()))
		a.mu.Unlock()
		if u.GetKind() == "Deployment" {
			d := &appsv1.Deployment{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, d); err != nil {
				return true, nil, err
			}
			d.Status = appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1}
			if rollsOut {
				d.Status.AvailableReplicas = 1
				d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}}
			}
			if err := a.typed.Tracker().Add(d); err != nil {
				return true, nil, err
			}
		}
		return true, u, nil
	})
	a.typed.PrependProxyReactor("services", func(action k8stesting.Action) (bool, restclient.ResponseWrapper, error) {
		pa := action.(k8stesting.ProxyGetAction)
		a.mu.Lock()
		defer a.mu.Unlock()
		a.proxied = append(a.proxied, fmt.Sprintf("%s/%s:%s/%s", pa.GetNamespace(), pa.GetName(), pa.GetPort(), pa.GetPath()))
		if len(a.counter) == 0 {
			return true, response{err: errors.New(`services "webui" not found`)}, nil
		}
		v := a.counter[0]
		if len(a.counter) > 1 {
			a.counter = a.counter[1:]
		}
		if v == "" {
			return true, response{err: errors.New(`services "webui" not found`)}, nil
		}
		return true, response{body: []byte(`{"coins":3,"hashes":"` + v + `","now":1764500000.5}`)}, nil
	})
	return a
}

func (a *api) kube(context.Context, int) (*kube.Client, error) {
	return &kube.Client{Name: "01/node1", Typed: kubefake.Typed(a.typed), Dynamic: a.dynamic}, nil
}

type response struct {
	body []byte
	err  error
}

func (r response) DoRaw(context.Context) ([]byte, error) { return r.body, r.err }
func (r response) Stream(context.Context) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(string(r.body))), r.err
}

// The stack the manifests render, as refs in apply order.
func stackRefs(t *testing.T, ns string) []string {
	m, err := manifests.Render(manifests.Options{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := kube.Decode(m)
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, o := range objs {
		refs = append(refs, fmt.Sprintf("%s %s/%s", o.GetObjectKind().GroupVersionKind().Kind, o.GetNamespace(), o.GetName()))
	}
	return refs
}

// Not deployed yet: every object of the stack is applied server-side, the
// Deployments are waited for, then the counter grows. node1 runs nothing
// but its image probe: the deploy is API calls only.
func TestDeploy(t *testing.T) {
	node1 := newNode("01/node1").answers(listImages, allImages)
	node2 := newNode("01/node2").answers(listImages, allImages)
	a := newAPI(t, true, "", "0", "4", "8")
	p := newPhase(t, Config{Deploy: true, Namespace: "coins", Context: on(nil, node1, node2), Kube: a.kube})
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*node{node1, node2} {
		if got := n.Calls(); !slices.Equal(got, []string{listImages}) {
			t.Errorf("%s ran %q", n.Host, got)
		}
	}
	want := stackRefs(t, "coins")
	if len(want) != 10 || want[0] != "Namespace /coins" {
		t.Fatalf("the stack is %q", want)
	}
	if !slices.Equal(a.applied, want) {
		t.Errorf("applied\n%q\nwant\n%q", a.applied, want)
	}
	if a.proxied[0] != "coins/webui:80/json" || len(a.proxied) != 3 {
		t.Errorf("counter read as %q", a.proxied)
	}
}

// Mining already: nothing is applied (attendees' changes stay).
func TestDeploySkipsWhenMining(t *testing.T) {
	node1 := newNode("01/node1").answers(listImages, allImages)
	a := newAPI(t, true, "100", "100", "104")
	p := newPhase(t, Config{Deploy: true, Context: on(nil, node1), Kube: a.kube})
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(a.applied) != 0 || len(a.proxied) != 3 {
		t.Errorf("applied %q, counter read %d times", a.applied, len(a.proxied))
	}
}

// Deployed, rolled out, but the counter stays put: the error names the
// cluster, node1 and where the counter was read.
func TestDeployNotMining(t *testing.T) {
	node1 := newNode("07/node1").answers(listImages, allImages)
	a := newAPI(t, true, "", "5")
	p := newPhase(t, Config{Deploy: true, Context: on(nil, node1), Kube: a.kube})
	err := p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cluster 07: 07/node1: DockerCoins deployed in namespace dockercoins but its hashes counter (service dockercoins/webui:80, /json) did not grow within 1s") {
		t.Errorf("error %v", err)
	}
}

// Deployments that never become available: the wait says which and why,
// and the counter is not waited for.
func TestDeployWaitsForRollout(t *testing.T) {
	node1 := newNode("01/node1").answers(listImages, allImages)
	a := newAPI(t, false, "")
	p := newPhase(t, Config{Deploy: true, Context: on(nil, node1), Kube: a.kube})
	err := p.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cluster 01: 01/node1: deployments in dockercoins not rolled out after 1s: hasher: 0 of 1 replicas available; redis: 0 of 1 replicas available") {
		t.Errorf("error %v", err)
	}
	if len(a.proxied) != 1 {
		t.Errorf("counter read %d times after a failed rollout", len(a.proxied))
	}
}

// An API server that cannot be reached fails the cluster, naming it.
func TestDeployWithoutAPI(t *testing.T) {
	node1 := newNode("04/node1").answers(listImages, allImages)
	p := newPhase(t, Config{Deploy: true, Context: on(nil, node1),
		Kube: func(context.Context, int) (*kube.Client, error) {
			return nil, errors.New("04/node1: reading /etc/kubernetes/admin.conf: exit 1")
		}})
	if err := p.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "cluster 04: 04/node1: reading /etc/kubernetes/admin.conf") {
		t.Errorf("error %v", err)
	}
}
