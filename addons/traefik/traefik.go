// Package traefik is the course's ingress controller: Traefik as a
// DaemonSet on every node, node1 included, answering on each node's port
// 80 (the deck's "hostNetwork" variant, which works whatever the CNI),
// with Traefik's Kubernetes Ingress provider and a default IngressClass,
// so that the deck's Ingress resources (no class named) are served.
package traefik

import (
	_ "embed"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/labctl/labctl/artifacts/goimage"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/kube/objects"
)

// Upstream release labctl installs.
const (
	Module   = "github.com/traefik/traefik/v3"
	Version  = "v3.5.0"
	Upstream = "traefik:" + Version
	// codename and date are what upstream's release stamps (v3.5's cheese;
	// the date is the version's publication on the module proxy).
	codename  = "chabichou"
	buildDate = "2025-07-23T13:46:04Z"
)

// Names of the objects: the deck's (`kubectl describe -n kube-system
// ds/traefik-ingress-controller`).
const (
	Name      = "traefik-ingress-controller"
	Namespace = "kube-system"
	// Class is the default IngressClass and Controller the name Traefik's
	// Ingress provider answers to.
	Class      = "traefik"
	Controller = "traefik.io/ingress-controller"
	// WebPort is where Ingresses are served on every node; DashboardPort
	// is Traefik's API and dashboard (the deck's container port 8080) and
	// its /ping health check.
	WebPort       = 80
	DashboardPort = 8080
)

// dashboardIndex stands in for Traefik's web UI, whose built assets are
// not in the module zip (upstream builds them with yarn into
// webui/static, a go:embed directory, outside the module): the build
// needs the directory, and attendees get a page that lists the routers
// from Traefik's API, which the binary does serve.
//
//go:embed dashboard.html
var dashboardIndex []byte

// Build is how labctl builds the image for offline labs: upstream's main
// package, with the version stamps its Makefile sets and webui/static
// filled (see dashboardIndex). Root in the image as upstream's: binding
// port 80 on the node needs NET_BIND_SERVICE, which only root keeps.
func Build() *goimage.Spec {
	const pkg = Module + "/pkg/version"
	return &goimage.Spec{
		Ref:     "localhost/labctl/traefik:" + Version,
		Module:  Module,
		Version: Version,
		Package: "./cmd/traefik",
		Binary:  "traefik",
		LDFlags: fmt.Sprintf("-X %s.Version=%s -X %s.Codename=%s -X %s.BuildDate=%s", pkg, Version, pkg, codename, pkg, buildDate),
		Overlay: map[string][]byte{"webui/static/index.html": dashboardIndex},
		User:    "0:0",
	}
}

// Args are Traefik's static configuration: entry points on the node's
// ports, the Ingress provider, the insecure API (the deck's dashboard on
// port 8080; a classroom lab), and no calls home (offline rooms).
func Args() []string {
	return []string{
		fmt.Sprintf("--entryPoints.web.address=:%d", WebPort),
		fmt.Sprintf("--entryPoints.traefik.address=:%d", DashboardPort),
		"--providers.kubernetesingress=true",
		"--api.dashboard=true",
		"--api.insecure=true",
		"--ping=true",
		"--log.level=INFO",
		"--global.checkNewVersion=false",
		"--global.sendAnonymousUsage=false",
	}
}

// Objects are Traefik's RBAC, default IngressClass and DaemonSet, running
// image.
func Objects(image string) []kube.Object {
	read := []string{"get", "list", "watch"}
	one := intstr.FromInt32(1)
	agent := objects.NodeAgent{
		Name: Name, Namespace: Namespace, Labels: map[string]string{"app.kubernetes.io/name": "traefik"},
		// What the Ingress provider watches (its informers: Ingresses,
		// Services, EndpointSlices and TLS Secrets in every namespace;
		// IngressClasses and Nodes cluster-wide) and the status it writes.
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"services", "secrets", "nodes"}, Verbs: read},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: read},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses", "ingressclasses"}, Verbs: read},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses/status"}, Verbs: []string{"update"}},
		},
		// One node at a time, so an update never takes every node's
		// port 80 down at once.
		Update: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: &one}},
		Pod: podSpec(image),
	}
	// Default: the API server gives it to an Ingress that names no
	// class, as the deck's do.
	class := &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: Class, Labels: map[string]string{"app.kubernetes.io/name": "traefik"},
			Annotations: map[string]string{networkingv1.AnnotationIsDefaultIngressClass: "true"}},
		Spec: networkingv1.IngressClassSpec{Controller: Controller},
	}
	return agent.Objects(class)
}

func podSpec(image string) corev1.PodSpec {
	probe := &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ping", Port: intstr.FromInt32(DashboardPort)}},
		PeriodSeconds: 10, FailureThreshold: 3,
	}
	return corev1.PodSpec{
		// The node's own port 80, whatever the CNI (the deck:
		// hostPort "doesn't work or requires additional setup"
		// with most CNI plugins); Services still resolve.
		HostNetwork:       true,
		DNSPolicy:         corev1.DNSClusterFirstWithHostNet,
		PriorityClassName: "system-node-critical",
		NodeSelector:      map[string]string{corev1.LabelOSStable: "linux"},
		// node1 too: every node of the lab answers on port 80.
		Tolerations: []corev1.Toleration{
			{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule},
		},
		TerminationGracePeriodSeconds: new(int64(10)),
		Containers: []corev1.Container{{
			Name:            "traefik",
			Image:           image,
			ImagePullPolicy: corev1.PullIfNotPresent,
			// Args only: upstream's image starts them through its
			// entrypoint script, labctl's image through /traefik.
			Args: Args(),
			Ports: []corev1.ContainerPort{
				{Name: "web", ContainerPort: WebPort, HostPort: WebPort, Protocol: corev1.ProtocolTCP},
				{Name: "dashboard", ContainerPort: DashboardPort, HostPort: DashboardPort, Protocol: corev1.ProtocolTCP},
			},
			ReadinessProbe: probe,
			LivenessProbe:  probe,
			SecurityContext: &corev1.SecurityContext{
				RunAsUser:                new(int64(0)),
				ReadOnlyRootFilesystem:   new(true),
				AllowPrivilegeEscalation: new(false),
				SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"},
					Add: []corev1.Capability{"NET_BIND_SERVICE"}},
			},
		}},
	}
}
