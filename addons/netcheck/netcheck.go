// Package netcheck is the probe DaemonSet behind labctl's health checks
// (package health): a pod on every node, node1 included, and a Service in
// front of them. Its image is built from ./cmd/labctl-netcheck.
package netcheck

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	health "github.com/labctl/labctl/health/wire"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/kube/objects"
)

// Package is the image's main package in labctl's module.
const Package = "./addons/netcheck/cmd/labctl-netcheck"

// Objects are the namespace, DaemonSet and Service, running image.
func Objects(image string) []kube.Object {
	labels := map[string]string{"app": health.Name}
	meta := metav1.ObjectMeta{Name: health.Name, Namespace: health.Namespace, Labels: labels}
	ds := &appsv1.DaemonSet{
		ObjectMeta: meta,
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					// Every node, node1 and cordoned ones included: the
					// checks are about the node's network, not scheduling.
					Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
					PriorityClassName:             "system-node-critical",
					AutomountServiceAccountToken:  new(false),
					TerminationGracePeriodSeconds: new(int64(1)),
					EnableServiceLinks:            new(false),
					Containers: []corev1.Container{{
						Name:            "netcheck",
						Image:           image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: health.Port}},
						Env:             objects.NodeNameEnv(),
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ping", Port: intstr.FromString("http")}},
							PeriodSeconds: 5,
						},
						Resources: objects.Resources("5m", "8Mi", "32Mi"),
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot:             new(true),
							AllowPrivilegeEscalation: new(false),
							ReadOnlyRootFilesystem:   new(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: meta,
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Name: "http", Port: health.ServicePort, TargetPort: intstr.FromString("http")}},
		},
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: health.Namespace}}
	return []kube.Object{ns, ds, svc}
}
