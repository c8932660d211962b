package config

import (
	"bytes"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubeproxyv1alpha1 "k8s.io/kube-proxy/config/v1alpha1"
	kubeletv1beta1 "k8s.io/kubelet/config/v1beta1"
	bootstraptokenv1 "k8s.io/kubernetes/cmd/kubeadm/app/apis/bootstraptoken/v1"
)

// controlPlaneTaint is kubeadm's default taint, written out explicitly:
// node1 keeps it (the course relies on pods never landing there).
var controlPlaneTaint = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}

// Render returns the multi-document YAML for `kubeadm init --config`:
// InitConfiguration, ClusterConfiguration, KubeletConfiguration and
// KubeProxyConfiguration (validate.go says how it is checked).
func Render(in Input) ([]byte, error) {
	in.defaults()
	version, minor, err := parseVersion(in.KubernetesVersion)
	if err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	var docs [][]byte
	if minor >= firstV1beta4 {
		docs, err = initV1beta4(in, version)
	} else {
		docs, err = initV1beta3(in, version)
	}
	if err != nil {
		return nil, err
	}
	for _, pair := range [][2]any{
		{kubeletConfig(in, minor), &kubeletv1beta1.KubeletConfiguration{}},
		{kubeProxyConfig(in), &kubeproxyv1alpha1.KubeProxyConfiguration{}},
	} {
		b, err := encode(pair[0], pair[1])
		if err != nil {
			return nil, err
		}
		docs = append(docs, b)
	}
	if err := validateSANs(certSANs(in)); err != nil {
		return nil, fmt.Errorf("kubeadm rejects the init configuration: %w", err)
	}
	return bytes.Join(docs, []byte("---\n")), nil
}

// RenderJoin returns the YAML for `kubeadm join --config`. It holds the
// bootstrap token: write it to the node with mode 0600 and never log it.
func RenderJoin(in JoinInput) ([]byte, error) {
	in.defaults()
	_, minor, err := parseVersion(in.KubernetesVersion)
	if err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	var out []byte
	if minor >= firstV1beta4 {
		out, err = joinV1beta4(in)
	} else {
		out, err = joinV1beta3(in)
	}
	if err != nil {
		return nil, redact(err, in.Token)
	}
	return out, nil
}

// aggregatorRouting makes the API server reach extension API servers
// (metrics-server's metrics.k8s.io) at their pods' addresses, which the
// pod network routes from the start, rather than through their Service's
// ClusterIP: a ClusterIP kube-proxy has not programmed yet leaves node1 by
// its default route, and where something there answers (a transparent
// proxy: 404), the aggregator keeps that connection and the API stays
// unavailable for good.
const aggregatorRouting = "enable-aggregator-routing"

// certSANs are the API server certificate's extra names: the node name, both
// addresses, loopback (kubectl through an SSH tunnel), and any extras.
func certSANs(in Input) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range append([]string{in.NodeName, in.PrivateAddress, in.PublicAddress, "127.0.0.1"}, in.ExtraSANs...) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func initToken() []bootstraptokenv1.BootstrapToken {
	// No token value: kubeadm generates it on the node, so it never passes
	// through labctl. Only its lifetime is ours to bound.
	return []bootstraptokenv1.BootstrapToken{{
		Description: "created by kubeadm init (labctl joins with its own short-lived tokens)",
		TTL:         &metav1.Duration{Duration: InitTokenTTL},
	}}
}

// preflightIgnores lists kubeadm preflight checks that cannot pass inside a
// container: SystemVerification reads the host kernel's config, which a
// node container does not have.
func preflightIgnores(inContainer bool) []string {
	if inContainer {
		return []string{"SystemVerification"}
	}
	return nil
}

func kubeletConfig(in Input, minor int) *kubeletv1beta1.KubeletConfiguration {
	kc := &kubeletv1beta1.KubeletConfiguration{
		TypeMeta:     metav1.TypeMeta{APIVersion: "kubelet.config.k8s.io/v1beta1", Kind: "KubeletConfiguration"},
		CgroupDriver: "systemd",
	}
	if in.ServingCerts {
		kc.ServerTLSBootstrap = true
	}
	if in.CgroupV1 && minor >= firstCgV1Opt {
		kc.FailCgroupV1 = new(false)
	}
	if in.InContainer {
		// The node shares the host's disk and swap with everything else on
		// the host: its kubelet must neither refuse swap nor evict pods or
		// delete (irreplaceable, offline) images because the host is full.
		kc.FailSwapOn = new(false)
		kc.ImageGCHighThresholdPercent = new(int32(100))
		kc.EvictionHard = map[string]string{"nodefs.available": "0%", "nodefs.inodesFree": "0%", "imagefs.available": "0%"}
	}
	if in.UserNamespace {
		kc.FeatureGates = map[string]bool{"KubeletInUserNamespace": true}
	}
	return kc
}

func kubeProxyConfig(in Input) *kubeproxyv1alpha1.KubeProxyConfiguration {
	kp := &kubeproxyv1alpha1.KubeProxyConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: "kubeproxy.config.k8s.io/v1alpha1", Kind: "KubeProxyConfiguration"},
		Mode:     "iptables",
	}
	if in.InContainer {
		// nf_conntrack_max is global to the host: leave it alone.
		kp.Conntrack.MaxPerCore = new(int32(0))
	}
	return kp
}
