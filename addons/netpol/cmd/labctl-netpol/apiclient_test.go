package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
)

// fakeAPIServer answers the three lists, and the watches with one event
// each for policies (a new policy) and nothing for the others, as JSON the
// way the API server does. It proves the slim REST clients (own scheme, two
// groups) speak to a real API path layout.
func fakeAPIServer(t *testing.T) *httptest.Server {
	list := func(apiVersion, kind string, items ...runtime.Object) []byte {
		raw := make([]json.RawMessage, len(items))
		for i, it := range items {
			raw[i], _ = json.Marshal(it)
		}
		b, _ := json.Marshal(map[string]any{"kind": kind, "apiVersion": apiVersion, "metadata": map[string]string{"resourceVersion": "1"}, "items": raw})
		return b
	}
	web := pod("testweb", "node1", "10.244.1.2", "testweb")
	curl := pod("testcurl", "node2", "10.244.2.3", "testcurl")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default", Labels: map[string]string{corev1.LabelMetadataName: "default"}}}
	deny := policy("deny", networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"run": "testweb"}}})
	deny.APIVersion, deny.Kind, deny.ResourceVersion = "networking.k8s.io/v1", "NetworkPolicy", "2"
	lists := map[string][]byte{
		"/api/v1/pods":       list("v1", "PodList", web, curl),
		"/api/v1/namespaces": list("v1", "NamespaceList", ns),
		"/apis/networking.k8s.io/v1/networkpolicies": list("networking.k8s.io/v1", "NetworkPolicyList"),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := lists[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("watch") != "true" {
			w.Write(body)
			return
		}
		if strings.HasSuffix(r.URL.Path, "networkpolicies") {
			obj, _ := json.Marshal(deny)
			fmt.Fprintf(w, `{"type":"ADDED","object":%s}`+"\n", obj)
		}
		w.(http.Flusher).Flush()
		select { // hold the watch open like the API server does
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAPIListWatchersAgainstAnAPIServer(t *testing.T) {
	srv := fakeAPIServer(t)
	lw, err := apiListWatchers(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	w, err := newWatches(lw)
	if err != nil {
		t.Fatal(err)
	}
	table := &fakeTable{}
	cfg := testConfig()
	c, err := newController("node1", w, table, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{table: table, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { h.done <- c.run(ctx) }()
	t.Cleanup(func() { cancel(); <-h.done })
	// The list gave pods and the namespace, the watch the policy.
	h.eventually(t, "the watched policy", func(s string) bool {
		return s == "pod default/testweb 10.244.1.2\n  ingress: deny all\n"
	})
}
