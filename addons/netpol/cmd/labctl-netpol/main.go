// Command labctl-netpol enforces NetworkPolicy on the node it runs on: it
// watches pods, namespaces and policies, and keeps the nftables table
// "inet labctl-netpol" in step with them. It runs as a DaemonSet on the host
// network (see netpol.Objects).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

func main() {
	node := flag.String("node", os.Getenv("NODE_NAME"), "name of this node (the DaemonSet passes spec.nodeName through the downward API)")
	readyFile := flag.String("ready-file", "/run/labctl-netpol/ready", "file that exists while the table matches the cluster")
	healthcheck := flag.Bool("healthcheck", false, "exit 0 when the ready file exists (the readiness probe)")
	debounce := flag.Duration("debounce", 300*time.Millisecond, "gather changes this long before recomputing")
	resync := flag.Duration("resync", time.Minute, "re-apply this often even without changes")
	keep := flag.Bool("keep-on-exit", false, "leave the table in place on SIGTERM instead of removing it")
	verbose := flag.Bool("v", false, "log every rule at each change")
	flag.Parse()

	if *healthcheck {
		if _, err := os.Stat(*readyFile); err != nil {
			fmt.Fprintln(os.Stderr, "not ready:", err)
			os.Exit(1)
		}
		return
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if *node == "" {
		log.Error("no node name: pass -node or set NODE_NAME")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg := config{debounce: *debounce, resync: *resync, retries: 5, backoff: time.Second,
		readyFile: *readyFile, removeOnExit: !*keep}
	if err := run(ctx, *node, log, cfg); err != nil {
		log.Error("exiting", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, node string, log *slog.Logger, cfg config) error {
	rc, err := rest.InClusterConfig()
	if err != nil {
		return fmt.Errorf("in-cluster config: %w", err)
	}
	rc.UserAgent = "labctl-netpol"
	lw, err := apiListWatchers(rc)
	if err != nil {
		return err
	}
	w, err := newWatches(lw)
	if err != nil {
		return err
	}
	c, err := newController(node, w, NewApplier(), log, cfg)
	if err != nil {
		return err
	}
	log.Info("starting", "node", node, "table", "inet "+TableName)
	checkBridgeNetfilter(log)
	return c.run(ctx)
}

// checkBridgeNetfilter warns when pods on one bridge would bypass the
// table: without br_netfilter's sysctl, bridged IPv4 traffic never reaches
// the forward hook. Setting it is nodeprep's job (this container cannot
// write /proc/sys); saying so here makes the cause findable.
func checkBridgeNetfilter(log *slog.Logger) {
	const path = "/proc/sys/net/bridge/bridge-nf-call-iptables"
	b, err := os.ReadFile(path)
	switch {
	case err != nil:
		log.Warn("br_netfilter is not loaded: traffic between pods of this node is not filtered", "path", path, "err", err)
	case strings.TrimSpace(string(b)) != "1":
		log.Warn("bridged traffic skips netfilter: traffic between pods of this node is not filtered", "path", path, "value", strings.TrimSpace(string(b)))
	}
}
