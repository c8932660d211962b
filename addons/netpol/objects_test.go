package netpol

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/labctl/labctl/internal/golden"
	"github.com/labctl/labctl/kube"
)

const testImage = "localhost/labctl/netpol:test"

func TestObjectsGolden(t *testing.T) {
	var docs []string
	for _, o := range Objects(testImage) {
		b, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	golden.Check(t, "objects.golden.yaml", strings.Join(docs, "---\n"))
}

func TestObjects(t *testing.T) {
	objs := Objects(testImage)
	var (
		ds      *appsv1.DaemonSet
		role    *rbacv1.ClusterRole
		binding *rbacv1.ClusterRoleBinding
		sa      *corev1.ServiceAccount
	)
	for _, o := range objs {
		// The phase converts and applies them through package kube.
		ref, err := kube.RefOf(o)
		if err != nil {
			t.Fatalf("%T: %v", o, err)
		}
		if _, err := kube.ToUnstructured(o); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
		if o.GetLabels()["app.kubernetes.io/managed-by"] != "labctl" {
			t.Errorf("%s is not labelled as labctl's: %v", ref, o.GetLabels())
		}
		switch o := o.(type) {
		case *appsv1.DaemonSet:
			ds = o
		case *rbacv1.ClusterRole:
			role = o
		case *rbacv1.ClusterRoleBinding:
			binding = o
		case *corev1.ServiceAccount:
			sa = o
		}
	}
	if ds == nil || role == nil || binding == nil || sa == nil {
		t.Fatalf("want a DaemonSet, ClusterRole, ClusterRoleBinding and ServiceAccount, got %d objects", len(objs))
	}

	// RBAC: the service account may list and watch what the controller
	// watches, and nothing more.
	for _, need := range []struct{ group, resource string }{{"", "pods"}, {"", "namespaces"}, {"networking.k8s.io", "networkpolicies"}} {
		if !slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.APIGroups, need.group) && slices.Contains(r.Resources, need.resource) &&
				slices.Equal(r.Verbs, []string{"list", "watch"})
		}) {
			t.Errorf("ClusterRole does not grant list, watch on %q %s", need.group, need.resource)
		}
	}
	if s := binding.Subjects; len(s) != 1 || s[0].Name != sa.Name || s[0].Namespace != sa.Namespace || binding.RoleRef.Name != role.Name {
		t.Errorf("binding %+v does not tie %s/%s to %s", binding, sa.Namespace, sa.Name, role.Name)
	}

	if ds.Namespace != "kube-system" || sa.Namespace != "kube-system" {
		t.Errorf("namespaced objects in %q and %q, want kube-system", ds.Namespace, sa.Namespace)
	}
	for k, v := range ds.Spec.Selector.MatchLabels {
		if ds.Spec.Template.Labels[k] != v {
			t.Errorf("pod template labels %v do not match the selector", ds.Spec.Template.Labels)
		}
	}
	pod := ds.Spec.Template.Spec
	if !pod.HostNetwork || pod.ServiceAccountName != sa.Name {
		t.Errorf("hostNetwork %v, service account %q", pod.HostNetwork, pod.ServiceAccountName)
	}
	if len(pod.Tolerations) != 1 || pod.Tolerations[0].Operator != corev1.TolerationOpExists || pod.Tolerations[0].Key != "" {
		t.Errorf("tolerations %+v do not tolerate every taint", pod.Tolerations)
	}
	c := pod.Containers[0]
	if c.Image != testImage || c.Command[0] != "/"+Binary {
		t.Errorf("image %q command %v", c.Image, c.Command)
	}
	if len(c.Env) != 1 || c.Env[0].Name != "NODE_NAME" || c.Env[0].ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
		t.Errorf("env %+v does not pass the node name from the downward API", c.Env)
	}
	if caps := c.SecurityContext.Capabilities; !slices.Contains(caps.Add, "NET_ADMIN") || *c.SecurityContext.RunAsUser != 0 {
		t.Errorf("security context %+v cannot program nftables", c.SecurityContext)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v", c.Resources)
	}
	// The probe reads the file the controller writes, in a writable mount.
	probe := strings.Join(c.ReadinessProbe.Exec.Command, " ")
	if !strings.Contains(probe, "-healthcheck") || !strings.Contains(probe, c.Args[0]) ||
		!strings.HasPrefix(strings.TrimPrefix(c.Args[0], "-ready-file="), c.VolumeMounts[0].MountPath+"/") {
		t.Errorf("probe %q, args %v, mounts %+v disagree", probe, c.Args, c.VolumeMounts)
	}
}
