// Package weave is Weave Net, the course's CNI (kubernetes.cni: weave), as
// typed objects: a DaemonSet running the router (weave) and the
// NetworkPolicy controller (weave-npc) on every node, with the RBAC they
// need. Written from what Weave Net's Kubernetes manifest does, for
// labctl's nodes: its images come from a registry the lab file names,
// since the project is archived and its images have moved before.
package weave

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/kube/objects"
)

const (
	// Name names every object, as upstream does: the deck's
	// `stern weave` and `kubectl -n kube-system logs ds/weave-net` rely on it.
	Name      = "weave-net"
	Namespace = "kube-system"
	// StatusPort is where the router answers /status on the node.
	StatusPort = 6784
	// CNIBinDir is where containerd looks for CNI plugins on labctl's nodes
	// (nodeprep's runtime step; /opt/cni/bin links to it).
	CNIBinDir = "/usr/lib/cni"
)

// Images are the two image references for registry and version.
func Images(registry, version string) (kubeImage, npcImage string) {
	return fmt.Sprintf("%s/weave-kube:%s", registry, version), fmt.Sprintf("%s/weave-npc:%s", registry, version)
}

// Objects are the ServiceAccount, ClusterRole and binding, Role and
// binding, and the DaemonSet, allocating pod addresses from podSubnet.
func Objects(kubeImage, npcImage, podSubnet string) []kube.Object {
	agent := objects.NodeAgent{
		Name: Name, Namespace: Namespace, Labels: map[string]string{"name": Name},
		Rules: []rbacv1.PolicyRule{
			// The router learns peers and cleans up after deleted nodes;
			// weave-npc follows pods, namespaces and policies.
			{APIGroups: []string{""}, Resources: []string{"pods", "namespaces", "nodes"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"get", "list", "watch"}},
			// It clears the NetworkUnavailable condition of its node.
			{APIGroups: []string{""}, Resources: []string{"nodes/status"}, Verbs: []string{"patch", "update"}},
		},
		// One node at a time, each given a few seconds to reconnect to
		// its peers before the next one restarts.
		MinReadySeconds: 5,
		Update:          appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType},
		Pod:             podSpec(kubeImage, npcImage, podSubnet),
	}
	// The peers' shared IP allocation state lives in one ConfigMap, named
	// like everything else: create it, then read and update only that one.
	role := &rbacv1.Role{
		ObjectMeta: agent.Meta(true),
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{Name}, Verbs: []string{"get", "update"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"}},
		},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: agent.Meta(true),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: Name, Namespace: Namespace}},
	}
	return agent.Objects(role, binding)
}

func podSpec(kubeImage, npcImage, podSubnet string) corev1.PodSpec {
	nodeName := corev1.EnvVar{Name: "HOSTNAME", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.nodeName"}}}
	privileged := &corev1.SecurityContext{Privileged: new(true)}
	xtablesLock := corev1.VolumeMount{Name: "xtables-lock", MountPath: "/run/xtables.lock"}
	cpu := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")}}
	return corev1.PodSpec{
		// The router and the policy controller program the node itself.
		HostNetwork: true,
		DNSPolicy:   corev1.DNSClusterFirstWithHostNet,
		// Every node, node1 included: without the CNI no pod starts there.
		Tolerations: []corev1.Toleration{
			{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
			{Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
		},
		PriorityClassName: "system-node-critical",
		RestartPolicy:     corev1.RestartPolicyAlways,
		// Checks the kernel (ipset, br_netfilter) and installs the CNI
		// plugin and its configuration on the node.
		InitContainers: []corev1.Container{{
			Name:            "weave-init",
			Image:           kubeImage,
			ImagePullPolicy: corev1.PullIfNotPresent,
			Command:         []string{"/home/weave/init.sh"},
			SecurityContext: privileged,
			VolumeMounts: []corev1.VolumeMount{
				// init.sh installs the plugin into /host/opt/cni/bin. On
				// labctl's nodes that is a symbolic link to /usr/lib/cni,
				// which would dangle inside the container: mount the
				// directory containerd reads in its place.
				{Name: "cni-bin", MountPath: "/host/opt/cni/bin"},
				{Name: "cni-bin2", MountPath: "/host/home"},
				{Name: "cni-conf", MountPath: "/host/etc"},
				{Name: "lib-modules", MountPath: "/lib/modules"},
				xtablesLock,
			},
		}},
		Containers: []corev1.Container{
			{
				Name:            "weave",
				Image:           kubeImage,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         []string{"/home/weave/launch.sh"},
				Env: []corev1.EnvVar{
					{Name: "INIT_CONTAINER", Value: "true"},
					nodeName,
					// The lab's pod network, which kube-proxy and the
					// FORWARD rules of nodeprep also use.
					{Name: "IPALLOC_RANGE", Value: podSubnet},
				},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
					Host: "127.0.0.1", Path: "/status", Port: intstr.FromInt32(StatusPort)}}},
				Resources:       cpu,
				SecurityContext: privileged,
				VolumeMounts: []corev1.VolumeMount{
					{Name: "weavedb", MountPath: "/weavedb"},
					{Name: "dbus", MountPath: "/host/var/lib/dbus", ReadOnly: true},
					{Name: "cni-machine-id", MountPath: "/host/etc/machine-id", ReadOnly: true},
					xtablesLock,
				},
			},
			{
				Name:            "weave-npc",
				Image:           npcImage,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Env:             []corev1.EnvVar{nodeName},
				Resources:       cpu,
				SecurityContext: privileged,
				VolumeMounts:    []corev1.VolumeMount{xtablesLock},
			},
		},
		Volumes: []corev1.Volume{
			// The router's persisted state (peer identity, allocations).
			hostPath("weavedb", "/var/lib/weave", nil),
			hostPath("cni-bin", CNIBinDir, nil),
			hostPath("cni-bin2", "/home", nil),
			hostPath("cni-conf", "/etc", nil),
			// The peer name derives from the node's machine id.
			hostPath("cni-machine-id", "/etc/machine-id", nil),
			hostPath("dbus", "/var/lib/dbus", nil),
			hostPath("lib-modules", "/lib/modules", nil),
			// Shared with kube-proxy and the node's own iptables users.
			hostPath("xtables-lock", "/run/xtables.lock", new(corev1.HostPathFileOrCreate)),
		},
	}
}

func hostPath(name, path string, typ *corev1.HostPathType) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path, Type: typ}}}
}
