package prometheus

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/labctl/labctl/kube"
)

// Ready waits (at most wait) until the server's Deployment has a ready,
// up-to-date pod: its readiness probe (/-/ready) passes once the TSDB is
// open and the configuration loaded. On every up, so a server that
// stopped working is reported; one Get when it is fine.
func Ready(ctx context.Context, cl *kube.Client, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		d, err := cl.Typed.AppsV1().Deployments(Namespace).Get(ctx, Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("%s: get Deployment %s/%s: %w", cl.Name, Namespace, Name, err)
		}
		if ready(d) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: Deployment %s/%s not ready after %s: %s", cl.Name, Namespace, Name, wait, podStates(ctx, cl))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func ready(d *appsv1.Deployment) bool {
	return d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas >= 1 &&
		d.Status.ReadyReplicas >= 1 && d.Status.Replicas == d.Status.UpdatedReplicas
}

// podStates says what the server's pods are doing, for an error.
func podStates(ctx context.Context, cl *kube.Client) string {
	pods, err := cl.Typed.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=prometheus"})
	if err != nil {
		return err.Error()
	}
	var s []string
	for _, p := range pods.Items {
		st := string(p.Status.Phase)
		for _, c := range p.Status.ContainerStatuses {
			if w := c.State.Waiting; w != nil {
				st += " " + w.Reason + ": " + w.Message
			}
			// The tail of its log (FallbackToLogsOnError) says why.
			if x := c.LastTerminationState.Terminated; x != nil {
				st += fmt.Sprintf("; last exit %d (%s): %s", x.ExitCode, x.Reason, strings.TrimSpace(x.Message))
			}
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
				st += " unschedulable: " + c.Message
			}
		}
		s = append(s, p.Name+" "+st)
	}
	if len(s) == 0 {
		return "no pod"
	}
	return strings.Join(s, "; ")
}
