package kind

import (
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/labctl/labctl/lab"
)

// ClusterName is the kind cluster of attendee c in lab labName: kind names
// its node container "<cluster>-control-plane".
func ClusterName(labName string, c int) string {
	return fmt.Sprintf("labctl-%s-%02d", labName, c)
}

// NodeContainer is the container of a cluster's one node.
func NodeContainer(cluster string) string { return cluster + "-control-plane" }

// NetworkName is the container network of a lab's kind clusters; labctl
// makes it (kind would share one "kind" network between everyone).
func NetworkName(labName string) string { return "labctl-kind-" + labName }

// clusterConfig is the kind configuration of one attendee cluster: one
// node (the control plane, untainted by kind since it is alone), the node
// image, the API server published on a host port of loopback. labctl's own
// image (ownImage) has the pod network baked in, so kind's own CNI is off;
// kind's kindest/node brings kindnet, which kind installs.
func clusterConfig(name, image, podSubnet string, ownImage bool) *v1alpha4.Cluster {
	return &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Name:     name,
		Nodes:    []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole, Image: image}},
		// The Kubernetes node is node1, as on every labctl cluster (kind
		// would name it after its container): the attendee sees node1, and
		// labctl's checks find the node the state knows.
		KubeadmConfigPatches: []string{"kind: InitConfiguration\nnodeRegistration:\n  name: " + lab.NodeName(1) + "\n"},
		Networking: v1alpha4.Networking{
			IPFamily:          v1alpha4.IPv4Family,
			APIServerAddress:  "127.0.0.1",
			PodSubnet:         podSubnet,
			ServiceSubnet:     "10.96.0.0/16",
			DisableDefaultCNI: ownImage,
		},
	}
}

// versionRE is a Kubernetes version as the lab file gives it.
var versionRE = regexp.MustCompile(`^v?1\.(\d+)\.(\d+)$`)

// Oldest and newest minor versions kind v0.33 runs: kind writes kubeadm's
// v1beta3/v1beta4 configuration, which kubeadm reads from 1.23 on; newer
// than its own release line it has not been taught.
const (
	minMinor = 23
	maxMinor = 35
)

// CheckVersion refuses a Kubernetes version kind cannot run.
func CheckVersion(v string) error {
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		return fmt.Errorf("kubernetes.version: %q is not a version like 1.34.4", v)
	}
	var minor int
	fmt.Sscan(m[1], &minor)
	if minor < minMinor || minor > maxMinor {
		return fmt.Errorf("kubernetes.version: %s: the kind provider runs 1.%d to 1.%d", v, minMinor, maxMinor)
	}
	return nil
}

// KindestImage is kind's own node image for a Kubernetes version (what
// `kubernetes.source: packages` uses): kind publishes one for some patch
// versions of each minor it supports.
func KindestImage(version string) string {
	return "docker.io/kindest/node:v" + strings.TrimPrefix(version, "v")
}
