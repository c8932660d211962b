package kube

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodeReady says whether the node's Ready condition is True. A cordoned
// node still is: unschedulable is a spec field, not a condition.
func NodeReady(n *corev1.Node) bool {
	c := NodeReadyCondition(n)
	return c != nil && c.Status == corev1.ConditionTrue
}

// NodeReadyCondition is the node's Ready condition, nil when the kubelet
// has not reported one yet.
func NodeReadyCondition(n *corev1.Node) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// Nodes lists the cluster's nodes by name.
func (c *Client) Nodes(ctx context.Context) (map[string]*corev1.Node, error) {
	list, err := c.Typed.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: list nodes: %w", c.Name, err)
	}
	out := make(map[string]*corev1.Node, len(list.Items))
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out, nil
}

// Ready asks the API server's /readyz: nil once it serves (etcd
// reachable, its informers synced), as after a reboot of node1 it takes a
// while to. A client without a REST client (client-go's fakes) is asked
// for its version instead.
func (c *Client) Ready(ctx context.Context) error {
	rc := c.Typed.Discovery().RESTClient()
	if rc == nil || reflect.ValueOf(rc).IsNil() {
		_, err := c.Typed.Discovery().ServerVersion()
		return err
	}
	body, err := rc.Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		if b := oneLine(string(body)); b != "" && !strings.Contains(oneLine(err.Error()), b) {
			return fmt.Errorf("%s: /readyz: %w (%s)", c.Name, err, b)
		}
		return fmt.Errorf("%s: /readyz: %w", c.Name, err)
	}
	return nil
}

func oneLine(s string) string {
	f := strings.Fields(s)
	if len(f) > 30 {
		f = append(f[:30], "...")
	}
	return strings.Join(f, " ")
}
