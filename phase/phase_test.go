package phase

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/labctl/labctl/lab"
)

// EachCluster leaves skipped clusters out, lists every failed cluster's
// error, and Done writes each outcome into the state.
func TestEachClusterRecords(t *testing.T) {
	st := &lab.State{Clusters: []lab.Cluster{{Index: 1}, {Index: 2}, {Index: 3}}}
	x := &Context{Lab: &lab.Lab{NodesPerCluster: 2}, State: st, Parallel: 4, Skip: func(c int) bool { return c == 2 }}
	var mu sync.Mutex
	var seen []int
	err := x.EachCluster(context.Background(), func(_ context.Context, c *lab.Cluster) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, c.Index)
		var err error
		if c.Index == 3 {
			err = Fail(NodeRef{Cluster: 3, Node: "node2"}, "kubeadm join", errors.New("03/node2: exit 1"))
		}
		o := Outcome{Cluster: c.Index, Phase: "kubeadm", Err: err}
		var se *StepError
		if errors.As(err, &se) {
			o.Step = se.Where()
		}
		x.Done(o)
		return err
	})
	if len(seen) != 2 || seen[0] == 2 || seen[1] == 2 {
		t.Errorf("ran on %v, want 1 and 3", seen)
	}
	if err == nil || err.Error() != "03/node2: step kubeadm join: exit 1" {
		t.Errorf("error %v", err)
	}
	if r := st.Clusters[0].Phases["kubeadm"]; !r.OK {
		t.Errorf("cluster 1: %+v", r)
	}
	if _, ok := st.Clusters[1].Phases["kubeadm"]; ok {
		t.Errorf("skipped cluster 2 got an outcome")
	}
	if r := st.Clusters[2].Phases["kubeadm"]; r.OK || r.Step != "03/node2 kubeadm join" || !strings.HasSuffix(r.Error, "exit 1") {
		t.Errorf("cluster 3: %+v", r)
	}
	if got := x.ClusterParallel(); got != 2 {
		t.Errorf("ClusterParallel = %d, want 4 nodes / 2 per cluster", got)
	}
}
