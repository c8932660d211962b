package reset

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/remote"
)

// Record takes cluster's baseline: its API objects and nodes through cl,
// and on every node (nodes, by node name) the record script for the
// attendee login user. It does not save it.
func Record(ctx context.Context, cl *kube.Client, cluster int, user string, nodes map[string]remote.Executor) (*Baseline, error) {
	snap, err := Take(ctx, cl)
	if err != nil {
		return nil, err
	}
	if len(snap.Unavailable) > 0 {
		return nil, fmt.Errorf("%s: API groups %v are unavailable: a baseline must list every object", cl.Name, snap.Unavailable)
	}
	fps, err := OnNodes(ctx, nodes, "record", user)
	if err != nil {
		return nil, err
	}
	b := &Baseline{Cluster: cluster, At: time.Now().UTC(), Snapshot: snap, NodeFingerprints: fps, KubeSystemUID: kubeSystemUID(snap), Format: Format}
	if err := b.check(cluster); err != nil {
		return nil, fmt.Errorf("cluster %02d: baseline: %w", cluster, err)
	}
	return b, nil
}

// OnNodes runs the node script name on every node at once and returns
// each node's fingerprint.
func OnNodes(ctx context.Context, nodes map[string]remote.Executor, name, user string) (map[string]string, error) {
	var mu sync.Mutex
	fps := map[string]string{}
	var xs []remote.Executor
	names := map[remote.Executor]string{}
	for n, x := range nodes {
		xs = append(xs, x)
		names[x] = n
	}
	res := remote.Each(ctx, xs, len(xs), func(ctx context.Context, x remote.Executor) error {
		fp, err := RunNode(ctx, x, name, user)
		if err == nil {
			mu.Lock()
			fps[names[x]] = fp
			mu.Unlock()
		}
		return err
	})
	return fps, res.Err()
}

// CheckNodes compares the fingerprints a soft reset's node scripts
// printed with the baseline's.
func (b *Baseline) CheckNodes(got map[string]string) error {
	for n, want := range b.NodeFingerprints {
		if got[n] != want {
			return fmt.Errorf("node %s differs from its baseline after the reset: baseline %q, now %q", n, want, got[n])
		}
	}
	return nil
}
