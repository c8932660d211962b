package pipeline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
)

// quiesceScript stops a node's control plane before its machine halts:
// kubelet first (it would start the static pods again), then SIGTERM to
// the API server and etcd while containerd still runs, and a wait for
// etcd to close its data. A halting machine stops containerd and the
// containers at the same time: etcd's exit was then never recorded (exit
// code 255, reason Unknown) and its last log lines were lost.
const quiesceScript = `set -u
command -v ctr >/dev/null || { echo "labctl-quiesce: no ctr"; exit 0; }
systemctl stop kubelet 2>/dev/null || true
running() { ctr -n k8s.io tasks ls 2>/dev/null | awk -v id="$1" '$1 == id && $3 == "RUNNING" { found = 1 } END { exit !found }'; }
ids() { ctr -n k8s.io containers ls -q "labels.\"io.kubernetes.container.name\"==$1" 2>/dev/null; }
killed=" "
for id in $(ids kube-apiserver) $(ids etcd); do
  running "$id" && ctr -n k8s.io tasks kill -s SIGTERM "$id" >/dev/null 2>&1 && killed="$killed$id "
done
waited=0
for id in $(ids etcd); do
  case "$killed" in *" $id "*) ;; *) continue ;; esac
  while running "$id" && [ "$waited" -lt 120 ]; do sleep 0.5; waited=$((waited + 1)); done
  if running "$id"; then echo "labctl-quiesce: etcd still running after 60s"; exit 0; fi
  echo "labctl-quiesce: etcd stopped"
done
`

// quiesceTimeout bounds a node's quiesce (its own wait is 60 s).
const quiesceTimeout = 90 * time.Second

// quiesce runs quiesceScript on the first node of each cluster (where
// kubeadm put the control plane). Best effort: a node that does not answer
// or fails is halted all the same, and the line says so.
func (p *Power) quiesce(ctx context.Context, clusters []int) {
	if p.Engine == nil {
		return
	}
	eng, err := p.Engine(pinInto(&p.mu, p.State))
	if err != nil {
		fmt.Fprintf(p.Out, "    etcd not stopped first: %v\n", err)
		return
	}
	defer eng.Close()
	var xs []remote.Executor
	for _, n := range clusters {
		c := p.State.Cluster(n)
		if c.Stopped() || len(c.Nodes) == 0 {
			continue
		}
		if x := provision.ExecutorFor(eng, p.State, n, c.FirstNode()); x != nil {
			xs = append(xs, x)
		}
	}
	remote.Each(ctx, xs, max(1, p.Parallel), func(ctx context.Context, x remote.Executor) error {
		ctx, cancel := context.WithTimeout(ctx, quiesceTimeout)
		defer cancel()
		res, err := x.Run(ctx, remote.Command{Line: quiesceScript})
		out := string(res.Stdout)
		switch {
		case err != nil:
			fmt.Fprintf(p.Out, "    %s: etcd not stopped first (the halt stops it): %s\n", x.Name(), remote.EscapeLine(firstLineOf(err.Error())))
		case strings.Contains(out, "labctl-quiesce: etcd stopped"):
			fmt.Fprintf(p.Out, "    %s: etcd stopped cleanly before the halt\n", x.Name())
		case strings.Contains(out, "labctl-quiesce: etcd still running"):
			fmt.Fprintf(p.Out, "    %s: etcd did not stop within 60s; the halt stops it\n", x.Name())
		}
		return nil
	})
}
