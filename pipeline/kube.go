package pipeline

import (
	"context"

	"github.com/labctl/labctl/kube"
)

// kube is cluster c's API client for this run, made once (the phases
// share it, and with it the tunnel through node1). It rides a tunnel
// outside the probe round (rawExec), so reading the API leaves the
// round's answers to the phases after; it starts from the kubeconfig the
// state keeps, and keeps a fresh one when node1 had to be asked.
func (u *Up) kube(ctx context.Context, c int) (*kube.Client, error) {
	u.mu.Lock()
	if cl := u.clients[c]; cl != nil {
		u.mu.Unlock()
		return cl, nil
	}
	rec := kube.RecordedOf(u.State.Cluster(c))
	u.mu.Unlock()
	cl, err := kube.Connect(ctx, u.rawExec(c, "node1"), rec, func(kc, ca []byte) { u.saveKubeconfig(c, kc, ca) })
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.clients == nil {
		u.clients = map[int]*kube.Client{}
	}
	if prev := u.clients[c]; prev != nil {
		return prev, nil
	}
	u.clients[c] = cl
	return cl, nil
}

// saveKubeconfig keeps cluster c's admin credentials in the state (0600,
// with the other secrets), so the next talk to its API server costs no
// command: kube.Connect's own kubeconfig, checked against the recorded CA.
func (u *Up) saveKubeconfig(c int, kubeconfig, ca []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.State.Cluster(c).Kubeconfig = string(kubeconfig)
	u.State.Cluster(c).CA = string(ca)
}
