package weave

import (
	golden_ "github.com/labctl/labctl/internal/golden"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/labctl/labctl/kube"
)

func golden(t *testing.T, name, got string) {
	t.Helper()
	golden_.Check(t, name, got)
}

func TestObjectsGolden(t *testing.T) {
	kubeImage, npcImage := Images("docker.io/weaveworks", "2.8.1")
	out, err := kube.YAML(Objects(kubeImage, npcImage, "10.244.0.0/16"))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "objects.golden.yaml", out)
}

func TestImages(t *testing.T) {
	k, n := Images("mirror.example.com:5000/weaveworks", "2.8.1")
	if k != "mirror.example.com:5000/weaveworks/weave-kube:2.8.1" || n != "mirror.example.com:5000/weaveworks/weave-npc:2.8.1" {
		t.Errorf("images %s %s", k, n)
	}
}

// What Weave Net needs to run as the course's CNI on labctl's nodes.
func TestObjects(t *testing.T) {
	var (
		ds      *appsv1.DaemonSet
		sa      *corev1.ServiceAccount
		cr      *rbacv1.ClusterRole
		crb     *rbacv1.ClusterRoleBinding
		role    *rbacv1.Role
		binding *rbacv1.RoleBinding
	)
	for _, o := range Objects("r/weave-kube:t", "r/weave-npc:t", "192.168.0.0/16") {
		if _, err := kube.ToUnstructured(o); err != nil {
			t.Fatalf("%T: %v", o, err)
		}
		switch o := o.(type) {
		case *appsv1.DaemonSet:
			ds = o
		case *corev1.ServiceAccount:
			sa = o
		case *rbacv1.ClusterRole:
			cr = o
		case *rbacv1.ClusterRoleBinding:
			crb = o
		case *rbacv1.Role:
			role = o
		case *rbacv1.RoleBinding:
			binding = o
		}
	}
	if ds == nil || sa == nil || cr == nil || crb == nil || role == nil || binding == nil {
		t.Fatal("want a DaemonSet, ServiceAccount, ClusterRole(Binding) and Role(Binding)")
	}
	for _, o := range []kube.Object{ds, sa, role, binding} {
		if o.GetNamespace() != "kube-system" || o.GetName() != "weave-net" {
			t.Errorf("%T is %s/%s, want kube-system/weave-net", o, o.GetNamespace(), o.GetName())
		}
	}
	if crb.RoleRef.Name != cr.Name || binding.RoleRef.Name != role.Name || binding.RoleRef.Kind != "Role" ||
		crb.Subjects[0].Name != sa.Name || binding.Subjects[0].Namespace != sa.Namespace {
		t.Error("bindings do not tie the roles to the service account")
	}
	grants := func(rules []rbacv1.PolicyRule, resource, verb string) bool {
		return slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb)
		})
	}
	for _, need := range [][2]string{{"pods", "watch"}, {"namespaces", "watch"}, {"nodes", "list"}, {"networkpolicies", "watch"}, {"nodes/status", "patch"}} {
		if !grants(cr.Rules, need[0], need[1]) {
			t.Errorf("ClusterRole does not grant %s on %s", need[1], need[0])
		}
	}
	if !grants(role.Rules, "configmaps", "create") || !grants(role.Rules, "configmaps", "update") {
		t.Error("Role does not let weave keep its IP allocation ConfigMap")
	}

	pod := ds.Spec.Template.Spec
	if !pod.HostNetwork || pod.ServiceAccountName != sa.Name || pod.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("hostNetwork %v, service account %q, dns %q", pod.HostNetwork, pod.ServiceAccountName, pod.DNSPolicy)
	}
	for k, v := range ds.Spec.Selector.MatchLabels {
		if ds.Spec.Template.Labels[k] != v {
			t.Error("the pod template does not match the selector")
		}
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
