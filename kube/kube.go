// Package kube is labctl's one way to talk to a cluster: client-go through
// an SSH tunnel to node1's API server, with node1's admin credentials.
// Typed objects in, typed objects out; no kubectl text to parse.
package kube

import (
	"context"
	"fmt"
	"net"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/labctl/labctl/remote"
)

// AdminConf is where kubeadm writes the cluster admin's kubeconfig on node1.
const AdminConf = "/etc/kubernetes/admin.conf"

// ReadAdminConf is the command that prints it; its output is a secret.
var ReadAdminConf = remote.Command{Line: "cat " + AdminConf, SecretOutput: true}

// Client is one cluster's API, reached through node1.
type Client struct {
	// Name is node1's label ("03/node1"), for errors.
	Name    string
	Typed   Typed
	Dynamic dynamic.Interface
	Config  *rest.Config
}

// Connect returns a client whose connections are SSH tunnels from node1
// (x) to the API server. It uses cached (an admin.conf read before) when
// the API server accepts it, else reads node1's admin.conf again and hands
// it to save: a re-run then costs no command on node1, and a rebuilt
// control plane (new CA) is picked up.
func Connect(ctx context.Context, x remote.Executor, cached []byte, save func([]byte)) (*Client, error) {
	if len(cached) > 0 {
		if c, err := FromKubeconfig(x.Name(), cached, x.Tunnel); err == nil {
			if _, err := c.Typed.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{}); err == nil {
				return c, nil
			}
		}
	}
	res, err := x.Run(ctx, ReadAdminConf)
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", x.Name(), AdminConf, err)
	}
	c, err := FromKubeconfig(x.Name(), res.Stdout, x.Tunnel)
	if err == nil && save != nil {
		save(res.Stdout)
	}
	return c, err
}

// Dialer opens a connection to addr from somewhere that reaches it.
type Dialer func(ctx context.Context, network, addr string) (net.Conn, error)

// FromKubeconfig builds a client from kubeconfig bytes; dial, when set,
// opens every connection to the API server (nil: dial directly).
func FromKubeconfig(name string, kubeconfig []byte, dial Dialer) (*Client, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", name, AdminConf, err)
	}
	if dial != nil {
		cfg.Dial = dial
	}
	// labctl is the only client on this path and waits for results; the
	// default 5 QPS would make an add-on's apply crawl.
	cfg.QPS, cfg.Burst = 50, 100
	cfg.Timeout = 30 * time.Second
	cfg.UserAgent = "labctl"
	typed, err := newTyped(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Client{Name: name, Typed: typed, Dynamic: dyn, Config: cfg}, nil
}
