// Package metricsserver is the metrics-server add-on: the resource metrics
// API behind `kubectl top` and the HorizontalPodAutoscaler. metrics-server
// reads every kubelet's /metrics/resource over TLS and verifies the
// kubelet's serving certificate against the cluster CA: kubelets ask for
// CA-signed serving certificates (serverTLSBootstrap), and labctl approves
// those requests only when they match the node (see csr.go).
package metricsserver

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"

	"github.com/labctl/labctl/artifacts/goimage"
	"github.com/labctl/labctl/kube"
)

// Upstream release labctl installs.
const (
	Module   = "sigs.k8s.io/metrics-server"
	Version  = "v0.8.0"
	Upstream = "registry.k8s.io/metrics-server/metrics-server:" + Version
)

// Names of the objects.
const (
	Name      = "metrics-server"
	Namespace = "kube-system"
	// containerPort is metrics-server's secure port inside its pod.
	containerPort = 10250
	// caFile is the cluster CA every pod's service account mount holds: the
	// CA that signs kubelet serving certificates (kubeadm's cluster CA is
	// kube-controller-manager's signing CA).
	caFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
)

// Build is how labctl builds the image for offline labs: upstream's main
// package with the version stamps its Makefile sets (the commit is not in
// the module; the date is the version's publication on the proxy).
func Build() *goimage.Spec {
	const pkg = "k8s.io/client-go/pkg/version"
	return &goimage.Spec{
		Ref:     "localhost/labctl/metrics-server:" + Version,
		Module:  Module,
		Version: Version,
		Package: "./cmd/metrics-server",
		Binary:  "metrics-server",
		LDFlags: fmt.Sprintf("-X %s.gitVersion=%s -X %s.gitTreeState=clean -X %s.buildDate=2025-07-03T08:11:27Z", pkg, Version, pkg, pkg),
	}
}

// Args are metrics-server's flags: kubelets reached at their InternalIP
// (the address their serving certificate names) and verified against the
// cluster CA; never --kubelet-insecure-tls.
func Args() []string {
	return []string{
		"--cert-dir=/tmp",
		fmt.Sprintf("--secure-port=%d", containerPort),
		"--kubelet-preferred-address-types=InternalIP,Hostname",
		"--kubelet-use-node-status-port",
		"--kubelet-certificate-authority=" + caFile,
		"--metric-resolution=15s",
	}
}

// Objects are metrics-server's RBAC, Service, Deployment and APIService,
// running image.
func Objects(image string) []kube.Object {
	labels := map[string]string{"k8s-app": Name}
	meta := func(name, ns string, extra map[string]string) metav1.ObjectMeta {
		l := map[string]string{"k8s-app": Name}
		for k, v := range extra {
			l[k] = v
		}
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: l}
	}
	sa := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: Name, Namespace: Namespace}}
	read := []string{"get", "list", "watch"}
	return []kube.Object{
		&corev1.ServiceAccount{ObjectMeta: meta(Name, Namespace, nil)},
		// Lets view, edit and admin read the metrics API (kubectl top as
		// any user with one of those roles).
		&rbacv1.ClusterRole{
			ObjectMeta: meta("system:aggregated-metrics-reader", "", map[string]string{
				"rbac.authorization.k8s.io/aggregate-to-view":  "true",
				"rbac.authorization.k8s.io/aggregate-to-edit":  "true",
				"rbac.authorization.k8s.io/aggregate-to-admin": "true",
			}),
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{"metrics.k8s.io"}, Resources: []string{"pods", "nodes"}, Verbs: read}},
		},
		// What metrics-server itself reads: the node list and the kubelets'
		// metrics endpoints.
		&rbacv1.ClusterRole{
			ObjectMeta: meta("system:metrics-server", "", nil),
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"nodes/metrics"}, Verbs: []string{"get"}},
				{APIGroups: []string{""}, Resources: []string{"pods", "nodes"}, Verbs: read},
			},
		},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: meta("system:metrics-server", "", nil),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:metrics-server"},
			Subjects:   sa,
		},
		// An aggregated API server delegates authentication and
		// authorization of its callers to the main API server...
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: meta("metrics-server:system:auth-delegator", "", nil),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:auth-delegator"},
			Subjects:   sa,
		},
		// ...and reads the front proxy's client CA from kube-system.
		&rbacv1.RoleBinding{
			ObjectMeta: meta("metrics-server-auth-reader", Namespace, nil),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "extension-apiserver-authentication-reader"},
			Subjects:   sa,
		},
		&corev1.Service{
			ObjectMeta: meta(Name, Namespace, nil),
			Spec: corev1.ServiceSpec{
				Selector: labels,
				Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP,
					TargetPort: intstr.FromString("https"), AppProtocol: new("https")}},
			},
		},
		deployment(image, meta(Name, Namespace, nil), labels),
		&apiregistrationv1.APIService{
			// Not in client-go's scheme: the kind is spelt out.
			TypeMeta:   metav1.TypeMeta{APIVersion: apiregistrationv1.SchemeGroupVersion.String(), Kind: "APIService"},
			ObjectMeta: meta("v1beta1.metrics.k8s.io", "", nil),
			Spec: apiregistrationv1.APIServiceSpec{
				Service: &apiregistrationv1.ServiceReference{Name: Name, Namespace: Namespace, Port: new(int32(443))},
				Group:   "metrics.k8s.io",
				Version: "v1beta1",
				// metrics-server's own serving certificate is self-signed in
				// its pod (--cert-dir): the API server cannot verify it. The
				// kubelet side, where node data comes from, is verified.
				InsecureSkipTLSVerify: true,
				GroupPriorityMinimum:  100,
				VersionPriority:       100,
			},
		},
	}
}

func deployment(image string, meta metav1.ObjectMeta, labels map[string]string) *appsv1.Deployment {
	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("https"), Scheme: corev1.URISchemeHTTPS}},
			PeriodSeconds:    10,
			FailureThreshold: 3,
		}
	}
	ready := probe("/readyz")
	ready.InitialDelaySeconds = 20
	zero := intstr.FromInt32(0)
	return &appsv1.Deployment{
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			// Never lose the metrics API during an update.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &zero}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: Name,
					PriorityClassName:  "system-cluster-critical",
					NodeSelector:       map[string]string{corev1.LabelOSStable: "linux"},
					Volumes:            []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
					Containers: []corev1.Container{{
						Name:            Name,
						Image:           image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Args:            Args(),
						Ports:           []corev1.ContainerPort{{Name: "https", ContainerPort: containerPort, Protocol: corev1.ProtocolTCP}},
						ReadinessProbe:  ready,
						LivenessProbe:   probe("/livez"),
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("200Mi")},
						},
						VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot:             new(true),
							RunAsUser:                new(int64(1000)),
							ReadOnlyRootFilesystem:   new(true),
							AllowPrivilegeEscalation: new(false),
							SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
}
