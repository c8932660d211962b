package config

// KubeletConfigPath is the kubelet's configuration on every node, written
// by kubeadm from the cluster's kubelet-config ConfigMap.
const KubeletConfigPath = "/var/lib/kubelet/config.yaml"

// ServingCertsFact is what ServingCertsProbe prints when the node's kubelet
// asks the cluster CA for its serving certificate.
const ServingCertsFact = "kubelet-serving-certs"

// ServingCertsProbe prints ServingCertsFact when the kubelet's
// configuration has serverTLSBootstrap on (kubeadm writes the key only
// when it is true).
const ServingCertsProbe = "grep -qx 'serverTLSBootstrap: true' " + KubeletConfigPath + " 2>/dev/null && echo " + ServingCertsFact

// UploadKubeletConfigCommand rewrites the cluster's kubelet-config
// ConfigMap from an init configuration on node1: what nodes joining
// later, and `kubeadm upgrade`, write to each node's KubeletConfigPath.
func UploadKubeletConfigCommand(configPath string) string {
	return "kubeadm init phase upload-config kubelet --config " + configPath
}

// ServingCertsCommand turns serverTLSBootstrap on or off in a node's
// kubelet configuration and restarts the kubelet, for a cluster made
// before the setting changed (a new cluster has it from kubeadm init).
// The key is top-level in kubeadm's file; off is the kubelet's default, so
// off removes it.
func ServingCertsCommand(on bool) string {
	line := "set -e; f=" + KubeletConfigPath + "; test -f $f; sed -i '/^serverTLSBootstrap:/d' $f; "
	if on {
		line += "echo 'serverTLSBootstrap: true' >> $f; "
	}
	return line + "systemctl restart kubelet"
}
