package prometheus

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/kube/kubefake"
)

func TestReady(t *testing.T) {
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: Namespace, Generation: 2},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1}}
	cl := &kube.Client{Name: "01/node1", Typed: kubefake.New(dep)}
	if err := Ready(context.Background(), cl, time.Second); err != nil {
		t.Fatal(err)
	}

	// A crashing server: the error says why, after the wait.
	dep.Status.ReadyReplicas = 0
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-server-x", Namespace: Namespace, Labels: map[string]string{"app.kubernetes.io/name": "prometheus"}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off"}}}}}}
	cl = &kube.Client{Name: "01/node1", Typed: kubefake.New(dep, pod)}
	err := Ready(context.Background(), cl, 0)
	if err == nil || !strings.Contains(err.Error(), "01/node1") || !strings.Contains(err.Error(), "prometheus-server-x Running CrashLoopBackOff") {
		t.Errorf("err %v", err)
	}
	// Not applied at all.
	cl = &kube.Client{Name: "01/node1", Typed: kubefake.New()}
	if err := Ready(context.Background(), cl, 0); err == nil {
		t.Error("no Deployment: no error")
	}
}
