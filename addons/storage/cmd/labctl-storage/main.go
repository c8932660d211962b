// Command labctl-storage provisions node-local volumes for the node it
// runs on: directories under -root for the claims the scheduler put on
// this node, removed when their released volumes are deleted. It runs as
// a DaemonSet (see storage.Objects), one pod per node.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/labctl/labctl/addons/storage"
)

func main() {
	node := flag.String("node", os.Getenv("NODE_NAME"), "name of this node (the DaemonSet passes spec.nodeName through the downward API)")
	root := flag.String("root", storage.Root, "directory holding the volumes, at the same path as on the node")
	klog.InitFlags(nil)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, *node, *root); err != nil {
		fmt.Fprintln(os.Stderr, "labctl-storage:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, node, root string) error {
	if node == "" {
		return fmt.Errorf("no node name: pass -node or set NODE_NAME")
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return fmt.Errorf("volumes root %s is not a directory (the hostPath mount): %v", root, err)
	}
	rc, err := rest.InClusterConfig()
	if err != nil {
		return fmt.Errorf("in-cluster config: %w", err)
	}
	rc.UserAgent = storage.Binary
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	p, err := New(ctx, client, node, root)
	if err != nil {
		return err
	}
	klog.InfoS("provisioning node-local volumes", "provisioner", storage.ProvisionerName, "node", node, "hostname", p.Hostname, "root", root)
	Controller(ctx, client, p).Run(ctx)
	return nil
}
