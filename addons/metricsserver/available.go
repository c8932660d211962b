package metricsserver

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/labctl/labctl/kube"
)

// APIServiceName is the metrics API's registration with the aggregator.
const APIServiceName = "v1beta1.metrics.k8s.io"

var apiServices = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// Available waits (at most wait) until the API server says the metrics API
// is available: what `kubectl top` and the HPA need. Ready pods do not
// prove it; the aggregator's own check does.
func Available(ctx context.Context, cl *kube.Client, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		status, msg, err := availability(ctx, cl)
		if err != nil {
			return err
		}
		if status == "True" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: APIService %s not available after %s: %s", cl.Name, APIServiceName, wait, msg)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// availability is the APIService's Available condition and its message.
func availability(ctx context.Context, cl *kube.Client) (status, msg string, err error) {
	u, err := cl.Dynamic.Resource(apiServices).Get(ctx, APIServiceName, metav1.GetOptions{})
	if err != nil {
		return "", "", fmt.Errorf("%s: get APIService %s: %w", cl.Name, APIServiceName, err)
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Available" {
			s, _ := m["status"].(string)
			r, _ := m["reason"].(string)
			t, _ := m["message"].(string)
			return s, r + ": " + t, nil
		}
	}
	return "", "no Available condition yet", nil
}
