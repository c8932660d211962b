package metricsserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/labctl/labctl/kube"
)

func apiService(status, reason, msg string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": APIServiceName},
		"status": map[string]any{"conditions": []any{map[string]any{
			"type": "Available", "status": status, "reason": reason, "message": msg}}},
	}}
	return u
}

func TestAvailable(t *testing.T) {
	list := map[schema.GroupVersionResource]string{{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}: "APIServiceList"}
	ok := &kube.Client{Name: "01/node1", Dynamic: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), list, apiService("True", "Passed", "all checks passed"))}
	if err := Available(context.Background(), ok, time.Second); err != nil {
		t.Fatal(err)
	}
	// The aggregator's reason reaches the error: what an instructor needs.
	bad := &kube.Client{Name: "01/node1", Dynamic: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), list,
		apiService("False", "FailedDiscoveryCheck", "failing or missing response from https://10.108.130.28:443/apis/metrics.k8s.io/v1beta1: bad status: 404"))}
	err := Available(context.Background(), bad, time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "01/node1: APIService v1beta1.metrics.k8s.io not available after 1ms: FailedDiscoveryCheck: failing or missing response") {
		t.Fatalf("err = %v", err)
	}
}

func nodeMetric(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics",
		"metadata": map[string]any{"name": name},
		"usage":    map[string]any{"cpu": "120m", "memory": "700Mi"},
	}}
}

func TestEveryNode(t *testing.T) {
	list := map[schema.GroupVersionResource]string{{Group: "metrics.k8s.io", Version: "v1beta1", Resource: "nodes"}: "NodeMetricsList"}
	fake := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), list)
	// The resource is "nodes" (not what the fake would guess from the kind).
	for _, n := range []string{"node1", "node2"} {
		if err := fake.Tracker().Create(nodeMetrics, nodeMetric(n), ""); err != nil {
			t.Fatal(err)
		}
	}
	cl := &kube.Client{Name: "01/node1", Dynamic: fake}
	if err := EveryNode(context.Background(), cl, []string{"node1", "node2"}, time.Second); err != nil {
		t.Fatal(err)
	}
	// node3 not scraped yet: kubectl top nodes would show <unknown>.
	err := EveryNode(context.Background(), cl, []string{"node1", "node2", "node3"}, time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "01/node1: the metrics API has no figures for node3 after 1ms") {
		t.Fatalf("err = %v", err)
	}
}
