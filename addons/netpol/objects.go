// Package netpol is the netpol add-on's objects: an enforcer of
// Kubernetes NetworkPolicy on every node, with nftables, whatever the
// CNI. It exists because the upstream enforcer (kube-network-policies)
// needs the nftables queue expression, which the kernels labctl's local
// nodes run on do not have. The enforcer's logic lives in its main
// package (./cmd/labctl-netpol), so that labctl links only what builds
// its objects.
package netpol

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// What the add-ons phase needs to build the image and deploy the enforcer.
const (
	// Package is the enforcer's main package in labctl's module; it builds
	// with CGO_ENABLED=0.
	Package = "./addons/netpol/cmd/labctl-netpol"
	// Binary is its file name at the image's root.
	Binary = "labctl-netpol"
	// Name names every object; Namespace holds the namespaced ones.
	Name      = "labctl-netpol"
	Namespace = "kube-system"
)

// Object has the method set of kube.Object. This package does not import
// kube: the enforcer binary imports this package, and kube would link
// client-go's whole scheme and the SSH engine into it (16 MB became 39 MB).
type Object interface {
	runtime.Object
	metav1.Object
}

// readyDir is an emptyDir: the image has no writable file system.
const readyDir = "/run/labctl-netpol"

// Objects are the ServiceAccount, ClusterRole, ClusterRoleBinding and
// DaemonSet that run the enforcer, with image, on every node.
func Objects(image string) []Object {
	labels := map[string]string{"app.kubernetes.io/name": Name, "app.kubernetes.io/managed-by": "labctl"}
	meta := func(namespaced bool) metav1.ObjectMeta {
		m := metav1.ObjectMeta{Name: Name, Labels: copyLabels(labels)}
		if namespaced {
			m.Namespace = Namespace
		}
		return m
	}
	sa := &corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: meta(true)}
	role := &rbacv1.ClusterRole{
		TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"),
		ObjectMeta: meta(false),
		// Read-only, and only what Compile reads.
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "namespaces"}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"list", "watch"}},
		},
	}
	binding := &rbacv1.ClusterRoleBinding{
		TypeMeta:   typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
		ObjectMeta: meta(false),
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: Name, Namespace: Namespace}},
	}
	selector := map[string]string{"app.kubernetes.io/name": Name}
	ds := &appsv1.DaemonSet{
		TypeMeta:   typeMeta("apps/v1", "DaemonSet"),
		ObjectMeta: meta(true),
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: copyLabels(labels)},
				Spec:       podSpec(image),
			},
		},
	}
	return []Object{sa, role, binding, ds}
}

func podSpec(image string) corev1.PodSpec {
	return corev1.PodSpec{
		ServiceAccountName: Name,
		// The rules go into the node's own network namespace.
		HostNetwork: true,
		DNSPolicy:   corev1.DNSClusterFirstWithHostNet,
		// Every node, node1 and cordoned or tainted ones included: an
		// unenforced node would let policies silently fail there.
		Tolerations:       []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		PriorityClassName: "system-node-critical",
		// Long enough to remove the table on SIGTERM.
		TerminationGracePeriodSeconds: new(int64(10)),
		EnableServiceLinks:            new(false),
		Containers: []corev1.Container{{
			Name:            "netpol",
			Image:           image,
			ImagePullPolicy: corev1.PullIfNotPresent,
			Command:         []string{"/" + Binary},
			Args:            []string{"-ready-file=" + readyDir + "/ready"},
			Env: []corev1.EnvVar{{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}},
			// Ready once the first table matching the cluster is in.
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/" + Binary, "-healthcheck", "-ready-file=" + readyDir + "/ready"}}},
				PeriodSeconds: 10,
			},
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
			},
			// Root for netlink, but with NET_ADMIN as its only capability.
			SecurityContext: &corev1.SecurityContext{
				RunAsUser:                new(int64(0)),
				RunAsNonRoot:             new(false),
				AllowPrivilegeEscalation: new(false),
				ReadOnlyRootFilesystem:   new(true),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_ADMIN"}},
			},
			VolumeMounts: []corev1.VolumeMount{{Name: "run", MountPath: readyDir}},
		}},
		Volumes: []corev1.Volume{{Name: "run", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
	}
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func copyLabels(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
