// Package netpol is the netpol add-on's objects: an enforcer of
// Kubernetes NetworkPolicy on every node, with nftables, whatever the
// CNI. It exists because the upstream enforcer (kube-network-policies)
// needs the nftables queue expression, which the kernels labctl's local
// nodes run on do not have. The enforcer's logic lives in its main
// package (./cmd/labctl-netpol), so that labctl links only what builds
// its objects.
package netpol

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/labctl/labctl/kube/objects"
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

// readyDir is an emptyDir: the image has no writable file system.
const readyDir = "/run/labctl-netpol"

// Objects are the ServiceAccount, ClusterRole, ClusterRoleBinding and
// DaemonSet that run the enforcer, with image, on every node.
func Objects(image string) []objects.Object {
	return objects.NodeAgent{
		Name: Name, Namespace: Namespace,
		Labels:   map[string]string{"app.kubernetes.io/name": Name, "app.kubernetes.io/managed-by": "labctl"},
		Selector: map[string]string{"app.kubernetes.io/name": Name},
		// Read-only, and only what Compile reads.
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "namespaces"}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"list", "watch"}},
		},
		Pod: podSpec(image),
	}.Objects()
}

func podSpec(image string) corev1.PodSpec {
	return corev1.PodSpec{
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
			Env:             objects.NodeNameEnv(),
			// Ready once the first table matching the cluster is in.
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/" + Binary, "-healthcheck", "-ready-file=" + readyDir + "/ready"}}},
				PeriodSeconds: 10,
			},
			Resources: objects.Resources("10m", "32Mi", "128Mi"),
			// Root for netlink, but with NET_ADMIN as its only capability.
			SecurityContext: objects.RootWith("NET_ADMIN"),
			VolumeMounts:    []corev1.VolumeMount{{Name: "run", MountPath: readyDir}},
		}},
		Volumes: []corev1.Volume{{Name: "run", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
	}
}
