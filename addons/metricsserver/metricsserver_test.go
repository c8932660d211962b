package metricsserver

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"github.com/labctl/labctl/addons/internal/addontest"
)

func TestObjects(t *testing.T) {
	objs := Objects("localhost/labctl/metrics-server:v0.8.0")
	var refs []string
	for _, r := range addontest.Refs(t, objs) {
		refs = append(refs, r.GVK.Group+"/"+r.String())
	}
	want := []string{
		"/ServiceAccount kube-system/metrics-server",
		"rbac.authorization.k8s.io/ClusterRole/system:aggregated-metrics-reader",
		"rbac.authorization.k8s.io/ClusterRole/system:metrics-server",
		"rbac.authorization.k8s.io/ClusterRoleBinding/system:metrics-server",
		"rbac.authorization.k8s.io/ClusterRoleBinding/metrics-server:system:auth-delegator",
		"rbac.authorization.k8s.io/RoleBinding kube-system/metrics-server-auth-reader",
		"/Service kube-system/metrics-server",
		"apps/Deployment kube-system/metrics-server",
		"apiregistration.k8s.io/APIService/v1beta1.metrics.k8s.io",
	}
	if !slices.Equal(refs, want) {
		t.Errorf("objects:\n%s\nwant:\n%s", strings.Join(refs, "\n"), strings.Join(want, "\n"))
	}
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			c := o.Spec.Template.Spec.Containers[0]
			args := strings.Join(c.Args, " ")
			for _, w := range []string{"--kubelet-certificate-authority=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
				"--kubelet-preferred-address-types=InternalIP,", "--secure-port=10250"} {
				if !strings.Contains(args, w) {
					t.Errorf("args %q lack %q", args, w)
				}
			}
			if strings.Contains(args, "insecure") {
				t.Errorf("args %q skip kubelet verification", args)
			}
			if c.Image != "localhost/labctl/metrics-server:v0.8.0" || o.Spec.Template.Spec.ServiceAccountName != Name {
				t.Errorf("image %q, service account %q", c.Image, o.Spec.Template.Spec.ServiceAccountName)
			}
			if o.Spec.Template.Spec.AutomountServiceAccountToken != nil && !*o.Spec.Template.Spec.AutomountServiceAccountToken {
				t.Error("no service account token: no in-cluster client, no CA file")
			}
		case *rbacv1.RoleBinding:
			if o.RoleRef.Name != "extension-apiserver-authentication-reader" || o.Namespace != "kube-system" {
				t.Errorf("auth reader binding %+v", o.RoleRef)
			}
		case *rbacv1.ClusterRole:
			if o.Name == "system:aggregated-metrics-reader" && o.Labels["rbac.authorization.k8s.io/aggregate-to-view"] != "true" {
				t.Errorf("aggregated reader not aggregated to view: %v", o.Labels)
			}
		case *apiregistrationv1.APIService:
			if s := o.Spec.Service; s == nil || s.Name != Name || s.Namespace != Namespace || o.Spec.Group != "metrics.k8s.io" || o.Spec.Version != "v1beta1" {
				t.Errorf("APIService %+v", o.Spec)
			}
		}
	}
}

func TestBuildSpec(t *testing.T) {
	b := Build()
	if b.Module != Module || b.Version != Version || b.Package != "./cmd/metrics-server" {
		t.Errorf("build %+v", b)
	}
	if !strings.Contains(b.LDFlags, "k8s.io/client-go/pkg/version.gitVersion="+Version) {
		t.Errorf("ldflags %q do not stamp the version", b.LDFlags)
	}
}
