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
