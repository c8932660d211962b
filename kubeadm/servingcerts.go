package kubeadm

import (
	"bytes"
	"context"
	"strings"

	"github.com/labctl/labctl/kubeadm/config"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// servingCerts converges the kubelets of a cluster made before the lab
// wanted (or stopped wanting) CA-signed serving certificates: node1 first
// rewrites the cluster's kubelet-config ConfigMap (what later joins and
// `kubeadm upgrade` use), then each node's kubelet configuration changes
// and its kubelet restarts. A kubelet asks for its certificate as it
// starts; the addons phase approves it.
func (p *Phase) servingCerts(ctx context.Context, c *lab.Cluster, n1 *lab.Node, x1 phase.Target, cgroupV1 bool, xs []phase.Target) error {
	if len(xs) == 0 {
		return nil
	}
	if xs[0].NodeRef == x1.NodeRef {
		if err := p.uploadInitConfig(ctx, x1, n1, cgroupV1, "kubelet-config"); err != nil {
			return err
		}
		if _, err := p.step(ctx, x1, "kubelet-config", remote.Command{Line: config.UploadKubeletConfigCommand(config.InitConfigPath) + " 2>&1"}); err != nil {
			return err
		}
	}
	state := map[bool]string{true: "on", false: "off"}[p.ServingCerts]
	return phase.Each(ctx, xs, len(xs), func(ctx context.Context, x phase.Target) error {
		if _, err := p.step(ctx, x, "kubelet serving certificates", remote.Command{Line: config.ServingCertsCommand(p.ServingCerts)}); err != nil {
			return err
		}
		p.logf("    %s: kubelet restarted with serverTLSBootstrap %s\n", x.Name(), state)
		return nil
	})
}

// uploadInitConfig writes node1's kubeadm init configuration, as this lab
// renders it, to config.InitConfigPath; step names what it is for.
func (p *Phase) uploadInitConfig(ctx context.Context, x1 phase.Target, n1 *lab.Node, cgroupV1 bool, step string) error {
	cfg, err := config.Render(config.Input{
		KubernetesVersion: p.Lab.Kubernetes.Version, NodeName: "node1",
		PublicAddress: n1.PublicAddress, PrivateAddress: n1.PrivateAddress,
		PodSubnet: p.Lab.Kubernetes.PodSubnet, InContainer: p.InContainer, CgroupV1: cgroupV1,
		ServingCerts: p.ServingCerts, UserNamespace: p.Lab.Provider.UserNS,
	})
	if err != nil {
		return phase.Fail(x1.NodeRef, "kubeadm config", err)
	}
	if err := x1.Upload(ctx, bytes.NewReader(cfg), config.InitConfigPath, 0o600); err != nil {
		return phase.Fail(x1.NodeRef, step, err)
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
