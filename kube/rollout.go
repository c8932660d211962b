package kube

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RolledOut says whether a Deployment's controller has seen its latest
// spec and every replica of it is updated and available; if not, why.
func RolledOut(d *appsv1.Deployment) (bool, string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	switch {
	case s.ObservedGeneration < d.Generation:
		return false, "the controller has not seen its latest spec"
	case s.UpdatedReplicas < want:
		return false, fmt.Sprintf("%d of %d replicas updated", s.UpdatedReplicas, want)
	case s.Replicas > s.UpdatedReplicas:
		return false, fmt.Sprintf("%d old replicas still running", s.Replicas-s.UpdatedReplicas)
	case s.AvailableReplicas < want:
		return false, fmt.Sprintf("%d of %d replicas available", s.AvailableReplicas, want)
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status != corev1.ConditionTrue {
			return false, "not Available: " + c.Message
		}
	}
	return true, ""
}

// WaitRolledOut polls the Deployments of namespace (every one when names
// is empty) until each has rolled out, what `kubectl rollout status` waits
// for. On timeout the error names each Deployment still waiting and why.
func (c *Client) WaitRolledOut(ctx context.Context, namespace string, names []string, timeout, every time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		waiting, err := c.notRolledOut(ctx, namespace, names)
		if err == nil && len(waiting) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("%s: deployments in %s not rolled out after %s: %w", c.Name, namespace, timeout, err)
			}
			return fmt.Errorf("%s: deployments in %s not rolled out after %s: %s", c.Name, namespace, timeout, strings.Join(waiting, "; "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

func (c *Client) notRolledOut(ctx context.Context, namespace string, names []string) ([]string, error) {
	list, err := c.Typed.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var waiting []string
	for i := range list.Items {
		d := &list.Items[i]
		if len(names) > 0 && !slices.Contains(names, d.Name) {
			continue
		}
		seen[d.Name] = true
		if ok, why := RolledOut(d); !ok {
			waiting = append(waiting, d.Name+": "+why)
		}
	}
	for _, n := range names {
		if !seen[n] {
			waiting = append(waiting, n+": not found")
		}
	}
	sort.Strings(waiting)
	return waiting, nil
}
