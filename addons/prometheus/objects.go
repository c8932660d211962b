package prometheus

import (
	"crypto/sha256"
	"encoding/hex"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/labctl/labctl/kube"
)

// Names of the objects. The Service keeps the name the deck's Helm chart
// gave it (`kubectl get svc -A | grep prometheus-server`).
const (
	Namespace = "prometheus"
	Name      = "prometheus-server"
	// Port is the server's HTTP port (UI and API) in its pod.
	Port = 9090
	// NodePort is fixed, so that every attendee's cluster answers on the
	// same port (30000-32767, the NodePort range).
	NodePort = 30090
	// configDir holds prometheus.yml from the ConfigMap.
	configDir = "/etc/prometheus"
	// dataDir is the TSDB: an emptyDir, as the deck's
	// server.persistentVolume.enabled=false. Not upstream's /prometheus:
	// that is the binary in labctl's image (goimage puts it at the root).
	dataDir = "/data"
	// configHash is the pod template's annotation that rolls the pod
	// when the configuration changes (Prometheus reads it at start).
	configHash = "labctl.io/config-sha256"
)

// Objects are Prometheus' namespace, RBAC, configuration, Deployment and
// NodePort Service, running image.
func Objects(image string) []kube.Object {
	labels := map[string]string{"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/component": "server"}
	meta := func(name, ns string) metav1.ObjectMeta {
		l := map[string]string{}
		for k, v := range labels {
			l[k] = v
		}
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: l}
	}
	sum := sha256.Sum256([]byte(Config))
	return []kube.Object{
		&corev1.Namespace{ObjectMeta: meta(Namespace, "")},
		&corev1.ServiceAccount{ObjectMeta: meta(Name, Namespace)},
		// Node discovery, and the kubelets' metrics through the API
		// server's node proxy (nodes/proxy) or directly (nodes/metrics);
		// the annotation jobs' discovery: EndpointSlices (and Endpoints,
		// for a role: endpoints job an attendee copies from the chart),
		// the Services and pods behind them. Read-only.
		&rbacv1.ClusterRole{
			ObjectMeta: meta("labctl:prometheus", ""),
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"nodes", "services", "endpoints", "pods"}, Verbs: []string{"get", "list", "watch"}},
				{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"get", "list", "watch"}},
				{APIGroups: []string{""}, Resources: []string{"nodes/proxy", "nodes/metrics"}, Verbs: []string{"get"}},
			},
		},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: meta("labctl:prometheus", ""),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "labctl:prometheus"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: Name, Namespace: Namespace}},
		},
		&corev1.ConfigMap{ObjectMeta: meta(Name, Namespace), Data: map[string]string{"prometheus.yml": Config}},
		deployment(image, meta(Name, Namespace), labels, hex.EncodeToString(sum[:])),
		&corev1.Service{
			ObjectMeta: meta(Name, Namespace),
			Spec: corev1.ServiceSpec{
				Type:     corev1.ServiceTypeNodePort,
				Selector: labels,
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP,
					TargetPort: intstr.FromString("http"), NodePort: NodePort}},
			},
		},
	}
}

// Args are the server's flags (the same with labctl's image and
// upstream's, whose entrypoint is the binary too).
func Args() []string {
	return []string{
		"--config.file=" + configDir + "/prometheus.yml",
		"--storage.tsdb.path=" + dataDir,
		// A class lasts days; the node's disk is shared with the course.
		"--storage.tsdb.retention.time=7d",
		"--web.listen-address=:9090",
	}
}

func deployment(image string, meta metav1.ObjectMeta, labels map[string]string, hash string) *appsv1.Deployment {
	probe := func(path string, delay int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http")}},
			InitialDelaySeconds: delay,
			PeriodSeconds:       10,
			FailureThreshold:    3,
		}
	}
	nobody := int64(65534)
	return &appsv1.Deployment{
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: new(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			// One TSDB in an emptyDir: the old pod goes before the new one.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{configHash: hash}},
				Spec: corev1.PodSpec{
					ServiceAccountName: Name,
					NodeSelector:       map[string]string{corev1.LabelOSStable: "linux"},
					SecurityContext: &corev1.PodSecurityContext{
						RunAsUser: &nobody, RunAsGroup: &nobody, FSGroup: &nobody, RunAsNonRoot: new(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Volumes: []corev1.Volume{
						{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: meta.Name}}}},
						{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
					},
					Containers: []corev1.Container{{
						Name:            "prometheus",
						Image:           image,
						ImagePullPolicy: corev1.PullIfNotPresent,
						Args:            Args(),
						Ports:           []corev1.ContainerPort{{Name: "http", ContainerPort: Port, Protocol: corev1.ProtocolTCP}},
						ReadinessProbe:  probe("/-/ready", 5),
						// A crash's log tail in the pod's status (see Ready).
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
						LivenessProbe:            probe("/-/healthy", 30),
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")},
						},
						VolumeMounts: []corev1.VolumeMount{
							{Name: "config", MountPath: configDir, ReadOnly: true},
							{Name: "data", MountPath: dataDir},
						},
						SecurityContext: &corev1.SecurityContext{
							ReadOnlyRootFilesystem:   new(true),
							AllowPrivilegeEscalation: new(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
}
