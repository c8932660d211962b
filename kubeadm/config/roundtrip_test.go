package config

import (
	"slices"
	"testing"

	kubeproxyconfig "k8s.io/kube-proxy/config/v1alpha1"
	kubeletconfig "k8s.io/kubelet/config/v1beta1"
	kubeadmapi "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm"
	"k8s.io/kubernetes/cmd/kubeadm/app/componentconfigs"
	configutil "k8s.io/kubernetes/cmd/kubeadm/app/util/config"
)

// TestInitRoundTrip loads the rendered files the way `kubeadm init` does
// (kubeadm's own loader: strict decoding, defaulting, conversion, dynamic
// defaults, validation) and checks that what labctl meant survived.
func TestInitRoundTrip(t *testing.T) {
	for _, v := range []string{"1.34.4", "1.35.0", "1.30.14"} {
		for _, inContainer := range []bool{false, true} {
			in := initInput(v, inContainer)
			b, err := Render(in)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := configutil.BytesToInitConfiguration(b, true)
			if err != nil {
				t.Fatalf("%s container=%v: kubeadm cannot load it: %v", v, inContainer, err)
			}
			checkInit(t, v, inContainer, cfg)
		}
	}
}

func checkInit(t *testing.T, v string, inContainer bool, cfg *kubeadmapi.InitConfiguration) {
	t.Helper()
	errorf := func(format string, args ...any) {
		t.Errorf(v+" container=%v: "+format, append([]any{inContainer}, args...)...)
	}
	if cfg.KubernetesVersion != "v"+v {
		errorf("kubernetesVersion %q", cfg.KubernetesVersion)
	}
	if cfg.LocalAPIEndpoint.AdvertiseAddress != "10.0.0.11" || cfg.LocalAPIEndpoint.BindPort != 6443 {
		errorf("localAPIEndpoint %+v", cfg.LocalAPIEndpoint)
	}
	for _, san := range []string{"node1", "10.0.0.11", "203.0.113.10", "127.0.0.1"} {
		if !slices.Contains(cfg.APIServer.CertSANs, san) {
			errorf("certSANs %v lack %s", cfg.APIServer.CertSANs, san)
		}
	}
	nr := cfg.NodeRegistration
	if nr.Name != "node1" || nr.CRISocket != DefaultCRISocket || nr.ImagePullPolicy != "IfNotPresent" {
		errorf("nodeRegistration %+v", nr)
	}
	if len(nr.Taints) != 1 || nr.Taints[0].Key != "node-role.kubernetes.io/control-plane" || nr.Taints[0].Effect != "NoSchedule" {
		errorf("taints %+v, want the control-plane taint", nr.Taints)
	}
	if len(nr.KubeletExtraArgs) != 1 || nr.KubeletExtraArgs[0] != (kubeadmapi.Arg{Name: "node-ip", Value: "10.0.0.11"}) {
		errorf("kubeletExtraArgs %+v", nr.KubeletExtraArgs)
	}
	if got := slices.Contains(nr.IgnorePreflightErrors, "SystemVerification"); got != inContainer {
		errorf("ignorePreflightErrors %v", nr.IgnorePreflightErrors)
	}
	if cfg.Networking.PodSubnet != DefaultPodSubnet || cfg.Networking.ServiceSubnet != DefaultServiceSubnet {
		errorf("networking %+v", cfg.Networking)
	}
	if len(cfg.BootstrapTokens) != 1 || cfg.BootstrapTokens[0].TTL.Duration != InitTokenTTL {
		errorf("bootstrapTokens %+v", cfg.BootstrapTokens)
	}

	kc, ok := cfg.ComponentConfigs[componentconfigs.KubeletGroup].Get().(*kubeletconfig.KubeletConfiguration)
	if !ok {
		errorf("no KubeletConfiguration")
		return
	}
	if kc.CgroupDriver != "systemd" {
		errorf("cgroupDriver %q", kc.CgroupDriver)
	}
	if got := kc.FailSwapOn != nil && !*kc.FailSwapOn; got != inContainer {
		errorf("failSwapOn %v", kc.FailSwapOn)
	}
	if got := kc.ImageGCHighThresholdPercent != nil && *kc.ImageGCHighThresholdPercent == 100; got != inContainer {
		errorf("imageGCHighThresholdPercent %v", kc.ImageGCHighThresholdPercent)
	}
	if got := kc.EvictionHard["nodefs.available"] == "0%"; got != inContainer {
		errorf("evictionHard %v", kc.EvictionHard)
	}

	kp, ok := cfg.ComponentConfigs[componentconfigs.KubeProxyGroup].Get().(*kubeproxyconfig.KubeProxyConfiguration)
	if !ok {
		errorf("no KubeProxyConfiguration")
		return
	}
	if kp.Mode != "iptables" {
		errorf("kube-proxy mode %q", kp.Mode)
	}
	if got := kp.Conntrack.MaxPerCore != nil && *kp.Conntrack.MaxPerCore == 0; got != inContainer {
		errorf("conntrack.maxPerCore %v", kp.Conntrack.MaxPerCore)
	}
	if kp.ClusterCIDR != DefaultPodSubnet {
		errorf("kube-proxy clusterCIDR %q", kp.ClusterCIDR)
	}
}

// TestJoinRoundTrip loads the join files with kubeadm's join loader.
func TestJoinRoundTrip(t *testing.T) {
	for _, v := range []string{"1.34.4", "1.35.0", "1.30.14"} {
		b, err := RenderJoin(joinInput(v, true))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := configutil.BytesToJoinConfiguration(b, configutil.LoadOrDefaultConfigurationOptions{SkipCRIDetect: true})
		if err != nil {
			t.Fatalf("%s: kubeadm cannot load it: %v", v, redact(err, NewToken(testToken)))
		}
		bt := cfg.Discovery.BootstrapToken
		if bt == nil || bt.Token != testToken || bt.APIServerEndpoint != "10.0.0.11:6443" ||
			!slices.Equal(bt.CACertHashes, []string{testCAHash}) || bt.UnsafeSkipCAVerification {
			t.Errorf("%s: discovery %+v", v, cfg.Discovery)
		}
		if cfg.Discovery.TLSBootstrapToken != testToken {
			t.Errorf("%s: tlsBootstrapToken not defaulted from the discovery token", v)
		}
		nr := cfg.NodeRegistration
		if nr.Name != "node2" || len(nr.Taints) != 0 || nr.CRISocket != DefaultCRISocket ||
			len(nr.KubeletExtraArgs) != 1 || nr.KubeletExtraArgs[0].Value != "10.0.0.12" {
			t.Errorf("%s: nodeRegistration %+v", v, nr)
		}
		if cfg.ControlPlane != nil {
			t.Errorf("%s: a worker joins as control plane", v)
		}
	}
}
