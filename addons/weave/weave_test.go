package weave

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/labctl/labctl/addons/internal/addontest"
	"github.com/labctl/labctl/kube"
)

func TestObjectsGolden(t *testing.T) {
	kubeImage, npcImage := Images("docker.io/weaveworks", "2.8.1")
	addontest.Golden(t, "objects.golden.yaml", Objects(kubeImage, npcImage, "10.244.0.0/16"))
}

func TestImages(t *testing.T) {
	k, n := Images("mirror.example.com:5000/weaveworks", "2.8.1")
	if k != "mirror.example.com:5000/weaveworks/weave-kube:2.8.1" || n != "mirror.example.com:5000/weaveworks/weave-npc:2.8.1" {
		t.Errorf("images %s %s", k, n)
	}
}

// What Weave Net needs to run as the course's CNI on labctl's nodes.
func TestObjects(t *testing.T) {
	objs := Objects("r/weave-kube:t", "r/weave-npc:t", "192.168.0.0/16")
	a := addontest.NodeAgent(t, objs, "kube-system")
	ds, sa, cr, pod := a.DaemonSet, a.Account, a.Role, a.Pod
	role := addontest.One[*rbacv1.Role](t, objs)
	binding := addontest.One[*rbacv1.RoleBinding](t, objs)
	for _, o := range []kube.Object{ds, sa, role, binding} {
		if o.GetNamespace() != "kube-system" || o.GetName() != "weave-net" {
			t.Errorf("%T is %s/%s, want kube-system/weave-net", o, o.GetNamespace(), o.GetName())
		}
	}
	if binding.RoleRef.Name != role.Name || binding.RoleRef.Kind != "Role" ||
		binding.Subjects[0].Name != sa.Name || binding.Subjects[0].Namespace != sa.Namespace {
		t.Error("bindings do not tie the roles to the service account")
	}
	for _, need := range [][3]string{{"", "pods", "watch"}, {"", "namespaces", "watch"}, {"", "nodes", "list"},
		{"networking.k8s.io", "networkpolicies", "watch"}, {"", "nodes/status", "patch"}} {
		if !addontest.Grants(cr.Rules, need[0], need[1], need[2]) {
			t.Errorf("ClusterRole does not grant %s on %s", need[2], need[1])
		}
	}
	if !addontest.Grants(role.Rules, "", "configmaps", "create") || !addontest.Grants(role.Rules, "", "configmaps", "update") {
		t.Error("Role does not let weave keep its IP allocation ConfigMap")
	}

	if !pod.HostNetwork || pod.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("hostNetwork %v, dns %q", pod.HostNetwork, pod.DNSPolicy)
	}
	// node1 keeps its control-plane taint and still needs the network.
	if !slices.ContainsFunc(pod.Tolerations, func(tl corev1.Toleration) bool {
		return tl.Operator == corev1.TolerationOpExists && tl.Key == "" && tl.Effect == corev1.TaintEffectNoSchedule
	}) {
		t.Errorf("tolerations %+v do not tolerate node1's taint", pod.Tolerations)
	}
	names := map[string]corev1.Container{}
	for _, c := range append(pod.InitContainers, pod.Containers...) {
		names[c.Name] = c
		if c.SecurityContext == nil || c.SecurityContext.Privileged == nil || !*c.SecurityContext.Privileged {
			t.Errorf("container %s is not privileged", c.Name)
		}
	}
	weave, npc := names["weave"], names["weave-npc"]
	if weave.Image != "r/weave-kube:t" || npc.Image != "r/weave-npc:t" || names["weave-init"].Image != weave.Image {
		t.Errorf("images: weave %q, weave-npc %q", weave.Image, npc.Image)
	}
	if !slices.Contains(weave.Env, corev1.EnvVar{Name: "IPALLOC_RANGE", Value: "192.168.0.0/16"}) {
		t.Errorf("weave env %+v lacks IPALLOC_RANGE = the pod subnet", weave.Env)
	}
	// Every mount names a volume of the pod.
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	for _, c := range names {
		for _, m := range c.VolumeMounts {
			if _, ok := vols[m.Name]; !ok {
				t.Errorf("%s mounts %s, which is not a volume", c.Name, m.Name)
			}
		}
	}
	// The plugin lands where containerd looks for it on labctl's nodes.
	for _, m := range names["weave-init"].VolumeMounts {
		if m.MountPath == "/host/opt/cni/bin" && vols[m.Name].HostPath.Path != CNIBinDir {
			t.Errorf("the CNI plugin goes to %s, containerd reads %s", vols[m.Name].HostPath.Path, CNIBinDir)
		}
	}
	if p := vols["xtables-lock"].HostPath; p == nil || p.Path != "/run/xtables.lock" {
		t.Error("weave does not share the node's xtables lock")
	}
}
