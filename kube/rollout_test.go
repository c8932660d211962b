package kube_test

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

func deployment(name string, generation, observed int64, replicas, updated, total, available int32, availableCond corev1.ConditionStatus) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "coins", Name: name, Generation: generation},
		Spec:   appsv1.DeploymentSpec{Replicas: &replicas},
		Status: appsv1.DeploymentStatus{ObservedGeneration: observed, Replicas: total, UpdatedReplicas: updated, AvailableReplicas: available}}
	if availableCond != "" {
		d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: availableCond, Message: "Deployment does not have minimum availability."}}
	}
	return d
}

func TestRolledOut(t *testing.T) {
	for _, tc := range []struct {
		d   *appsv1.Deployment
		why string // "" when rolled out
	}{
		{deployment("done", 2, 2, 2, 2, 2, 2, corev1.ConditionTrue), ""},
		{deployment("unseen", 3, 2, 2, 2, 2, 2, corev1.ConditionTrue), "the controller has not seen its latest spec"},
		{deployment("rolling", 2, 2, 2, 1, 3, 2, corev1.ConditionTrue), "1 of 2 replicas updated"},
		{deployment("old-left", 2, 2, 2, 2, 3, 2, corev1.ConditionTrue), "1 old replicas still running"},
		{deployment("starting", 1, 1, 1, 1, 1, 0, corev1.ConditionFalse), "0 of 1 replicas available"},
		{deployment("cond", 1, 1, 1, 1, 1, 1, corev1.ConditionFalse), "not Available: Deployment does not have minimum availability."},
	} {
		ok, why := kube.RolledOut(tc.d)
		if ok != (tc.why == "") || why != tc.why {
			t.Errorf("%s: %v %q, want %q", tc.d.Name, ok, why, tc.why)
		}
	}
}

// The wait ends once every named Deployment rolled out, and on timeout
// names each one still waiting (a missing one too).
func TestWaitRolledOut(t *testing.T) {
	c := &kube.Client{Name: "01/node1", Typed: kubefake.New(deployment("a", 1, 1, 1, 1, 1, 1, corev1.ConditionTrue), deployment("b", 1, 1, 1, 1, 1, 0, corev1.ConditionFalse),
		deployment("other", 1, 1, 1, 1, 1, 0, ""))}
	ctx := context.Background()
	if err := c.WaitRolledOut(ctx, "coins", []string{"a"}, time.Second, time.Millisecond); err != nil {
		t.Errorf("a: %v", err)
	}
	err := c.WaitRolledOut(ctx, "coins", []string{"a", "b", "c"}, 10*time.Millisecond, time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "01/node1: deployments in coins not rolled out after 10ms: b: 0 of 1 replicas available; c: not found") {
		t.Errorf("err = %v", err)
	}
	// No names: every Deployment of the namespace.
	if err := c.WaitRolledOut(ctx, "coins", nil, 10*time.Millisecond, time.Millisecond); err == nil || !strings.Contains(err.Error(), "other: 0 of 1") {
		t.Errorf("all: %v", err)
	}
}

func TestNodes(t *testing.T) {
	ready := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node1"}, Spec: corev1.NodeSpec{Unschedulable: true},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
	notReady := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node2"},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionFalse, Message: "cni plugin not initialized"}}}}
	fresh := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node3"}}
	c := &kube.Client{Name: "01/node1", Typed: kubefake.New(ready, notReady, fresh)}
	nodes, err := c.Nodes(context.Background())
	if err != nil || len(nodes) != 3 {
		t.Fatalf("%v %v", nodes, err)
	}
	if !kube.NodeReady(nodes["node1"]) || kube.NodeReady(nodes["node2"]) || kube.NodeReady(nodes["node3"]) {
		t.Error("Ready: want node1 only (cordoned still counts)")
	}
	if cond := kube.NodeReadyCondition(nodes["node2"]); cond == nil || cond.Message != "cni plugin not initialized" {
		t.Errorf("node2's condition: %+v", cond)
	}
	if kube.NodeReadyCondition(nodes["node3"]) != nil {
		t.Error("node3 has no condition yet")
	}
	if err := c.Ready(context.Background()); err != nil {
		t.Errorf("a fake answers its version: %v", err)
	}
}
