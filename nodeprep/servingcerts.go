package nodeprep

import (
	"bytes"
	"context"
	"strings"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/nodeprep/kubeadm"
	"github.com/labctl/labctl/remote"
)

// servingCerts converges the kubelets of a cluster made before the lab
// wanted (or stopped wanting) CA-signed serving certificates: node1 first
// rewrites the cluster's kubelet-config ConfigMap (what later joins and
// `kubeadm upgrade` use), then each node's kubelet configuration changes
// and its kubelet restarts. A kubelet asks for its certificate as it
// starts; the addons phase approves it.
func (p *ClusterPhase) servingCerts(ctx context.Context, c *lab.Cluster, n1 *lab.Node, x1 remote.Executor, cgroupV1 bool, xs []remote.Executor) error {
	if len(xs) == 0 {
		return nil
	}
	if xs[0].Name() == x1.Name() {
		if err := p.uploadInitConfig(ctx, x1, n1, cgroupV1, "kubelet-config"); err != nil {
			return err
		}
		if _, err := p.step(ctx, x1, "kubelet-config", remote.Command{Line: kubeadm.UploadKubeletConfigCommand(kubeadm.InitConfigPath) + " 2>&1"}); err != nil {
			return err
		}
	}
	state := map[bool]string{true: "on", false: "off"}[p.ServingCerts]
	return remote.Each(ctx, xs, len(xs), func(ctx context.Context, x remote.Executor) error {
		if _, err := p.step(ctx, x, "kubelet serving certificates", remote.Command{Line: kubeadm.ServingCertsCommand(p.ServingCerts)}); err != nil {
			return err
		}
		p.logf("    %s: kubelet restarted with serverTLSBootstrap %s\n", x.Name(), state)
		return nil
	}).Err()
}

// uploadInitConfig writes node1's kubeadm init configuration, as this lab
// renders it, to kubeadm.InitConfigPath; step names what it is for.
func (p *ClusterPhase) uploadInitConfig(ctx context.Context, x1 remote.Executor, n1 *lab.Node, cgroupV1 bool, step string) error {
	cfg, err := kubeadm.Render(kubeadm.Input{
		KubernetesVersion: p.Lab.Kubernetes.Version, NodeName: "node1",
		PublicAddress: n1.PublicAddress, PrivateAddress: n1.PrivateAddress,
		PodSubnet: p.Lab.Kubernetes.PodSubnet, InContainer: p.InContainer, CgroupV1: cgroupV1,
		ServingCerts: p.ServingCerts, UserNamespace: p.Lab.Provider.UserNS,
	})
	if err != nil {
		return &StepError{Host: x1.Name(), Step: "kubeadm config", Err: err}
	}
	if err := x1.Upload(ctx, bytes.NewReader(cfg), kubeadm.InitConfigPath, 0o600); err != nil {
		return &StepError{Host: x1.Name(), Step: step, Err: err}
	}
	return nil
}

// hasLine says whether out has a line that is exactly line.
func hasLine(out, line string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}
