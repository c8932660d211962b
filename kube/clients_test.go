package kube_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	appsv1 "k8s.io/api/apps/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/labctl/labctl/kube"
)

// apiServer answers the requests labctl's own clients make, as an API
// server would, and records them.
func apiServer(t *testing.T, aggregated bool) (*kube.Client, *[]string) {
	t.Helper()
	var seen []string
	write := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(v); err != nil {
			t.Error(err)
		}
	}
	gv := func(g, v string, stale bool, res ...apidiscoveryv2.APIResourceDiscovery) apidiscoveryv2.APIVersionDiscovery {
		d := apidiscoveryv2.APIVersionDiscovery{Version: v, Resources: res, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		if stale {
			d.Freshness = apidiscoveryv2.DiscoveryFreshnessStale
		}
		return d
	}
	res := func(name, kind string, ns bool) apidiscoveryv2.APIResourceDiscovery {
		s := apidiscoveryv2.ScopeCluster
		if ns {
			s = apidiscoveryv2.ScopeNamespace
		}
		return apidiscoveryv2.APIResourceDiscovery{Resource: name, ResponseKind: &metav1.GroupVersionKind{Kind: kind}, Scope: s,
			Verbs: []string{"list", "delete"}, Subresources: []apidiscoveryv2.APISubresourceDiscovery{{Subresource: "status"}}}
	}
	list := func(groups ...apidiscoveryv2.APIGroupDiscovery) apidiscoveryv2.APIGroupDiscoveryList {
		return apidiscoveryv2.APIGroupDiscoveryList{TypeMeta: metav1.TypeMeta{APIVersion: "apidiscovery.k8s.io/v2", Kind: "APIGroupDiscoveryList"}, Items: groups}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.RequestURI())
		switch p := r.Method + " " + r.URL.Path; {
		case p == "GET /api" || p == "GET /apis":
			if !aggregated || !strings.Contains(r.Header.Get("Accept"), "as=APIGroupDiscoveryList") {
				write(w, metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}})
				return
			}
			if p == "GET /api" {
				write(w, list(apidiscoveryv2.APIGroupDiscovery{Versions: []apidiscoveryv2.APIVersionDiscovery{
					gv("", "v1", false, res("pods", "Pod", true), res("nodes", "Node", false))}}))
				return
			}
			write(w, list(
				apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: "example.com"}, Versions: []apidiscoveryv2.APIVersionDiscovery{
					gv("example.com", "v2", false, res("widgets", "Widget", true)),
					gv("example.com", "v1", false, res("widgets", "Widget", true), res("gadgets", "Gadget", false))}},
				apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: "metrics.k8s.io"}, Versions: []apidiscoveryv2.APIVersionDiscovery{
					gv("metrics.k8s.io", "v1beta1", true)}}))
		case p == "GET /version":
			write(w, map[string]string{"gitVersion": "v1.34.4"})
		case p == "GET /api/v1/nodes":
			write(w, corev1.NodeList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "NodeList"},
				Items: []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "node1"}}, {ObjectMeta: metav1.ObjectMeta{Name: "node2"}}}})
		case p == "GET /apis/apps/v1/namespaces/coins/deployments/webui":
			write(w, appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
				ObjectMeta: metav1.ObjectMeta{Namespace: "coins", Name: "webui"}, Status: appsv1.DeploymentStatus{AvailableReplicas: 1}})
		case p == "GET /api/v1/namespaces/coins/services/http:webui:80/proxy/json":
			io.WriteString(w, `{"hashes": 3}`)
		case p == "GET /api/v1/namespaces/coins/pods":
			write(w, corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"},
				Items: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Namespace: "coins", Name: "web-1"}}}})
		case p == "DELETE /api/v1/nodes/node3":
			write(w, metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusSuccess})
		case p == "PUT /apis/certificates.k8s.io/v1/certificatesigningrequests/csr-1/approval" || p == "PUT /api/v1/nodes/node2":
			// client-go sends built-in types as protobuf.
			body, _ := io.ReadAll(r.Body)
			obj, err := runtime.Decode(kube.Codecs.UniversalDeserializer(), body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			write(w, obj)
		default:
			w.WriteHeader(http.StatusNotFound)
			write(w, metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusFailure,
				Reason: metav1.StatusReasonNotFound, Code: http.StatusNotFound, Message: r.URL.Path + " not found"})
		}
	}))
	t.Cleanup(srv.Close)
	cl, err := kube.ForConfig("01/node1", &rest.Config{Host: srv.URL, QPS: -1})
	if err != nil {
		t.Fatal(err)
	}
	return cl, &seen
}

// labctl's own typed clients ask what client-go's typed clientset asks
// and decode the answers.
func TestTypedCalls(t *testing.T) {
	cl, seen := apiServer(t, true)
	ctx := context.Background()
	nodes, err := cl.Nodes(ctx)
	if err != nil || len(nodes) != 2 || nodes["node2"] == nil {
		t.Fatalf("nodes: %v %v", nodes, err)
	}
	d, err := cl.Typed.AppsV1().Deployments("coins").Get(ctx, "webui", metav1.GetOptions{})
	if err != nil || d.Name != "webui" || d.Status.AvailableReplicas != 1 {
		t.Fatalf("deployment: %+v %v", d, err)
	}
	if _, err := cl.Typed.AppsV1().Deployments("coins").Get(ctx, "gone", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a missing deployment: %v", err)
	}
	body, err := cl.Typed.CoreV1().Services("coins").ProxyGet("http", "webui", "80", "json", nil).DoRaw(ctx)
	if err != nil || string(body) != `{"hashes": 3}` {
		t.Errorf("proxy: %q %v", body, err)
	}
	csr := &certificatesv1.CertificateSigningRequest{ObjectMeta: metav1.ObjectMeta{Name: "csr-1"}}
	csr.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateApproved, Status: corev1.ConditionTrue}}
	got, err := cl.Typed.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, "csr-1", csr, metav1.UpdateOptions{FieldManager: kube.FieldManager})
	if err != nil || len(got.Status.Conditions) != 1 {
		t.Errorf("approval: %+v %v", got, err)
	}
	n := nodes["node2"]
	n.Spec.Unschedulable = true
	if n, err := cl.Typed.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{FieldManager: kube.FieldManager}); err != nil || !n.Spec.Unschedulable {
		t.Errorf("update: %+v %v", n, err)
	}
	if err := cl.Typed.CoreV1().Nodes().Delete(ctx, "node3", metav1.DeleteOptions{}); err != nil {
		t.Errorf("delete: %v", err)
	}
	if err := cl.Typed.CoreV1().Nodes().Delete(ctx, "node4", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("delete a missing node: %v", err)
	}
	pods, err := cl.Typed.CoreV1().Pods("coins").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(pods.Items) != 1 || pods.Items[0].Name != "web-1" {
		t.Errorf("pods: %+v %v", pods, err)
	}
	if v, err := cl.Typed.Discovery().ServerVersion(); err != nil || v.GitVersion != "v1.34.4" {
		t.Errorf("version: %v %v", v, err)
	}
	want := []string{"GET /api/v1/nodes", "GET /apis/apps/v1/namespaces/coins/deployments/webui",
		"GET /api/v1/namespaces/coins/services/http:webui:80/proxy/json",
		"PUT /apis/certificates.k8s.io/v1/certificatesigningrequests/csr-1/approval?fieldManager=labctl",
		"PUT /api/v1/nodes/node2?fieldManager=labctl", "DELETE /api/v1/nodes/node3", "GET /api/v1/namespaces/coins/pods?labelSelector=app%3Dweb"}
	for _, w := range want {
		if !strings.Contains(strings.Join(*seen, "\n"), w) {
			t.Errorf("no %q in %v", w, *seen)
		}
	}
}

// Discovery lists each resource once, in the first version the server
// prefers that serves it; a stale group fails alone.
func TestDiscovery(t *testing.T) {
	cl, _ := apiServer(t, true)
	res, err := kube.Deletable(cl.Typed.Discovery())
	var failed *kube.GroupDiscoveryFailed
	if !errors.As(err, &failed) || len(failed.Groups) != 1 || failed.Groups[schema.GroupVersion{Group: "metrics.k8s.io", Version: "v1beta1"}] == nil {
		t.Fatalf("err = %v", err)
	}
	var got []string
	for _, r := range res {
		got = append(got, r.GVR.String()+" "+r.Kind+map[bool]string{true: " namespaced"}[r.Namespaced])
	}
	want := "/v1, Resource=nodes Node|/v1, Resource=pods Pod namespaced|" +
		"example.com/v1, Resource=gadgets Gadget|example.com/v2, Resource=widgets Widget namespaced"
	if strings.Join(got, "|") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, "|"), want)
	}

	old, _ := apiServer(t, false)
	if _, err := kube.Deletable(old.Typed.Discovery()); err == nil || !strings.Contains(err.Error(), "did not answer aggregated discovery") {
		t.Errorf("a server without aggregated discovery: %v", err)
	}
}
