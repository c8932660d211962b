package config

import (
	"bytes"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/v1beta3"
	"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/v1beta4"
)

// The two kubeadm API versions differ in shape (v1beta4 turned argument
// maps into lists) but not in what labctl asks of them.

func initV1beta4(in Input, version string) ([][]byte, error) {
	tm := func(kind string) metav1.TypeMeta {
		return metav1.TypeMeta{APIVersion: v1beta4.SchemeGroupVersion.String(), Kind: kind}
	}
	ic := &v1beta4.InitConfiguration{
		TypeMeta:        tm("InitConfiguration"),
		BootstrapTokens: initToken(),
		NodeRegistration: v1beta4.NodeRegistrationOptions{
			Name:                  in.NodeName,
			CRISocket:             in.CRISocket,
			Taints:                controlPlaneTaint,
			KubeletExtraArgs:      []v1beta4.Arg{{Name: "node-ip", Value: in.PrivateAddress}},
			IgnorePreflightErrors: preflightIgnores(in.InContainer),
			ImagePullPolicy:       corev1.PullIfNotPresent,
		},
		LocalAPIEndpoint: v1beta4.APIEndpoint{AdvertiseAddress: in.PrivateAddress, BindPort: apiServerPort},
	}
	cc := &v1beta4.ClusterConfiguration{
		TypeMeta:          tm("ClusterConfiguration"),
		KubernetesVersion: version,
		Networking:        v1beta4.Networking{PodSubnet: in.PodSubnet, ServiceSubnet: in.ServiceSubnet},
		APIServer: v1beta4.APIServer{CertSANs: certSANs(in), ControlPlaneComponent: v1beta4.ControlPlaneComponent{
			ExtraArgs: []v1beta4.Arg{{Name: aggregatorRouting, Value: "true"}}}},
	}
	return encodeAll([2]any{ic, &v1beta4.InitConfiguration{}}, [2]any{cc, &v1beta4.ClusterConfiguration{}})
}

func initV1beta3(in Input, version string) ([][]byte, error) {
	tm := func(kind string) metav1.TypeMeta {
		return metav1.TypeMeta{APIVersion: v1beta3.SchemeGroupVersion.String(), Kind: kind}
	}
	ic := &v1beta3.InitConfiguration{
		TypeMeta:        tm("InitConfiguration"),
		BootstrapTokens: initToken(),
		NodeRegistration: v1beta3.NodeRegistrationOptions{
			Name:                  in.NodeName,
			CRISocket:             in.CRISocket,
			Taints:                controlPlaneTaint,
			KubeletExtraArgs:      map[string]string{"node-ip": in.PrivateAddress},
			IgnorePreflightErrors: preflightIgnores(in.InContainer),
			ImagePullPolicy:       corev1.PullIfNotPresent,
		},
		LocalAPIEndpoint: v1beta3.APIEndpoint{AdvertiseAddress: in.PrivateAddress, BindPort: apiServerPort},
	}
	cc := &v1beta3.ClusterConfiguration{
		TypeMeta:          tm("ClusterConfiguration"),
		KubernetesVersion: version,
		Networking:        v1beta3.Networking{PodSubnet: in.PodSubnet, ServiceSubnet: in.ServiceSubnet},
		APIServer: v1beta3.APIServer{CertSANs: certSANs(in), ControlPlaneComponent: v1beta3.ControlPlaneComponent{
			ExtraArgs: map[string]string{aggregatorRouting: "true"}}},
	}
	return encodeAll([2]any{ic, &v1beta3.InitConfiguration{}}, [2]any{cc, &v1beta3.ClusterConfiguration{}})
}

func joinV1beta4(in JoinInput) ([]byte, error) {
	jc := &v1beta4.JoinConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: v1beta4.SchemeGroupVersion.String(), Kind: "JoinConfiguration"},
		NodeRegistration: v1beta4.NodeRegistrationOptions{
			Name:                  in.NodeName,
			CRISocket:             in.CRISocket,
			KubeletExtraArgs:      []v1beta4.Arg{{Name: "node-ip", Value: in.PrivateAddress}},
			IgnorePreflightErrors: preflightIgnores(in.InContainer),
			ImagePullPolicy:       corev1.PullIfNotPresent,
		},
		Discovery: v1beta4.Discovery{BootstrapToken: &v1beta4.BootstrapTokenDiscovery{
			Token:             in.Token.Reveal(),
			APIServerEndpoint: in.APIServer,
			CACertHashes:      in.CACertHashes,
		}},
	}
	return encode(jc, &v1beta4.JoinConfiguration{})
}

func joinV1beta3(in JoinInput) ([]byte, error) {
	jc := &v1beta3.JoinConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: v1beta3.SchemeGroupVersion.String(), Kind: "JoinConfiguration"},
		NodeRegistration: v1beta3.NodeRegistrationOptions{
			Name:                  in.NodeName,
			CRISocket:             in.CRISocket,
			KubeletExtraArgs:      map[string]string{"node-ip": in.PrivateAddress},
			IgnorePreflightErrors: preflightIgnores(in.InContainer),
			ImagePullPolicy:       corev1.PullIfNotPresent,
		},
		Discovery: v1beta3.Discovery{BootstrapToken: &v1beta3.BootstrapTokenDiscovery{
			Token:             in.Token.Reveal(),
			APIServerEndpoint: in.APIServer,
			CACertHashes:      in.CACertHashes,
		}},
	}
	return encode(jc, &v1beta3.JoinConfiguration{})
}

func encodeAll(pairs ...[2]any) ([][]byte, error) {
	var out [][]byte
	for _, p := range pairs {
		b, err := encode(p[0], p[1])
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// redact removes a token from an error message (kubeadm's field errors
// quote invalid values).
func redact(err error, t Token) error {
	if err == nil || t.Reveal() == "" {
		return err
	}
	msg := err.Error()
	secret := t.Reveal()
	if _, s, ok := bytes.Cut([]byte(secret), []byte(".")); ok {
		msg = string(bytes.ReplaceAll([]byte(msg), s, []byte("<redacted>")))
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Unwrap keeps errors.Is working; callers must print Error(), not the cause.
func (e *redactedError) Unwrap() error { return e.err }
