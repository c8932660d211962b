package netpol

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/labctl/labctl/addons/internal/addontest"
)

const testImage = "localhost/labctl/netpol:test"

func TestObjectsGolden(t *testing.T) {
	addontest.Golden(t, "objects.golden.yaml", Objects(testImage))
}

func TestObjects(t *testing.T) {
	objs := Objects(testImage)
	for i, ref := range addontest.Refs(t, objs) {
		if objs[i].GetLabels()["app.kubernetes.io/managed-by"] != "labctl" {
			t.Errorf("%s is not labelled as labctl's: %v", ref, objs[i].GetLabels())
		}
	}
	a := addontest.NodeAgent(t, objs, Namespace)
	ds, role, pod := a.DaemonSet, a.Role, a.Pod

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
	if ds.Namespace != "kube-system" {
		t.Errorf("DaemonSet in %q, want kube-system", ds.Namespace)
	}
	if !pod.HostNetwork {
		t.Error("no hostNetwork: the rules would not reach the node's namespace")
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
