package metricsserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	return poll(ctx, wait, func() (string, error) {
		status, msg, err := availability(ctx, cl)
		if err != nil || status == "True" {
			return "", err
		}
		return fmt.Sprintf("%s: APIService %s not available after %s: %s", cl.Name, APIServiceName, wait, msg), nil
	})
}

// poll calls check every 2 s until it returns no reason to go on waiting,
// an error, or wait has passed (then the last reason is the error).
func poll(ctx context.Context, wait time.Duration, check func() (why string, err error)) error {
	deadline := time.Now().Add(wait)
	for {
		why, err := check()
		if err != nil || why == "" {
			return err
		}
		if time.Now().After(deadline) {
			return errors.New(why)
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

var nodeMetrics = schema.GroupVersionResource{Group: "metrics.k8s.io", Version: "v1beta1", Resource: "nodes"}

// EveryNode waits (at most wait) until the metrics API has figures for
// every node named: until then `kubectl top nodes` shows the missing ones
// as <unknown> (metrics-server needs two scrapes of a kubelet).
func EveryNode(ctx context.Context, cl *kube.Client, nodes []string, wait time.Duration) error {
	return poll(ctx, wait, func() (string, error) {
		missing, err := withoutMetrics(ctx, cl, nodes)
		if err != nil || len(missing) == 0 {
			return "", err
		}
		return fmt.Sprintf("%s: the metrics API has no figures for %s after %s (kubectl top nodes shows <unknown>)", cl.Name, strings.Join(missing, ", "), wait), nil
	})
}

// withoutMetrics are the nodes the metrics API has no figures for.
func withoutMetrics(ctx context.Context, cl *kube.Client, nodes []string) ([]string, error) {
	list, err := cl.Dynamic.Resource(nodeMetrics).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: list node metrics: %w", cl.Name, err)
	}
	have := map[string]bool{}
	for _, it := range list.Items {
		have[it.GetName()] = true
	}
	var missing []string
	for _, n := range nodes {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	return missing, nil
}
