package phase

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/labctl/labctl/coins/images"
	"github.com/labctl/labctl/coins/mirror"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/preload"
	"github.com/labctl/labctl/remote"
)

// Commands run on the nodes.
const (
	listImages = "ctr -n k8s.io images ls -q"
)

// Probes is each node's probe, by node label, for the run's probe round.
func (p *Phase) Probes() (map[string][]string, error) {
	probes := map[string][]string{}
	for _, c := range p.Clusters() {
		for _, n := range c.Nodes {
			label := lab.Label(c.Index, n.Name)
			probes[label] = []string{listImages}
			if p.sums != nil {
				probes[label] = append(probes[label], probeMirror)
			}
		}
	}
	return probes, nil
}

// missingImages probes which DockerCoins images node's containerd lacks.
func (p *Phase) missingImages(ctx context.Context, node remote.Executor) ([]string, error) {
	res, err := run(ctx, node, listImages, nil)
	if err != nil {
		return nil, err
	}
	return preload.Missing(res.Stdout, images.FullRefs()), nil
}

// preload imports the images into node's containerd unless all are there,
// and installs the mirror serving them unless this very one runs there.
func (p *Phase) preload(ctx context.Context, node remote.Executor) error {
	missing, err := p.missingImages(ctx, node)
	if err != nil {
		return err
	}
	plan, err := p.planMirror(ctx, node)
	if err != nil {
		return err
	}
	if len(missing) == 0 && !plan.install {
		if plan.restart {
			if _, err := run(ctx, node, restartMirror, nil); err != nil {
				return err
			}
			if err := p.mirrorServing(ctx, node); err != nil {
				return err
			}
			p.logf(node.Name(), "restarted labctl-mirror.service")
		}
		p.logf(node.Name(), "DockerCoins images already present")
		return nil
	}
	// The mirror serves from the archive: it goes in before its removal.
	err = preload.Import(ctx, node, p.Archive, RemoteArchive, images.FullRefs(), func() error {
		switch {
		case plan.install:
			return p.installMirrorOn(ctx, node, plan)
		case plan.restart:
			_, err := run(ctx, node, restartMirror, nil)
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if missing, err = p.missingImages(ctx, node); err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: the import of %s succeeded but %q still lacks %v", node.Name(), RemoteArchive, listImages, missing)
	}
	p.logf(node.Name(), "imported %d DockerCoins images", len(images.FullRefs()))
	if plan.install || plan.restart {
		if err := p.mirrorServing(ctx, node); err != nil {
			return err
		}
		p.logf(node.Name(), "serving them as docker.io on %s (labctl-mirror.service)", mirror.Addr)
	}
	return nil
}

// hashes reads the mining counter: Redis's "hashes", as the webui
// Service's /json shows it, through the API server's service proxy. ok is
// false when there is no number to read (not deployed, not ready, or
// nothing mined yet).
func (p *Phase) hashes(ctx context.Context, cl *kube.Client) (n int64, ok bool) {
	body, err := cl.Typed.CoreV1().Services(p.Namespace).ProxyGet("http", counterService, counterPort, "json", nil).DoRaw(ctx)
	if err != nil {
		return 0, false
	}
	var s struct {
		Hashes *string `json:"hashes"`
	}
	if json.Unmarshal(body, &s) != nil || s.Hashes == nil {
		return 0, false
	}
	n, err = strconv.ParseInt(strings.TrimSpace(*s.Hashes), 10, 64)
	return n, err == nil
}

// The Service whose /json shows the counter, and its port.
const (
	counterService = "webui"
	counterPort    = "80"
)

// mining reports whether the counter grows within the timeout, polling.
func (p *Phase) mining(ctx context.Context, cl *kube.Client, timeout time.Duration) (bool, error) {
	deadline := time.Now().Add(timeout)
	first, seen := int64(0), false
	for {
		if n, ok := p.hashes(ctx, cl); ok {
			if seen && n > first {
				return true, nil
			}
			if !seen || n < first { // a restarted Redis starts again from 0
				first, seen = n, true
			}
		}
		if !time.Now().Add(p.MinePoll).Before(deadline) {
			return false, nil
		}
		select {
		case <-time.After(p.MinePoll):
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// deploy applies the stack (server-side, as labctl) unless it is mining
// already, waits until every Deployment rolled out, then for the counter
// to grow. It talks to the API server only (p.Kube).
func (p *Phase) deploy(ctx context.Context, c *lab.Cluster) error {
	node1 := node1(c)
	cl, err := p.Kube(ctx, c.Index)
	if err != nil {
		return err
	}
	if _, ok := p.hashes(ctx, cl); ok {
		// Deployed before: leave it (and attendees' changes) alone if it mines.
		if ok, err := p.mining(ctx, cl, 3*p.MinePoll); err != nil || ok {
			if ok {
				p.logf(node1, "DockerCoins already mining in namespace %s", p.Namespace)
			}
			return err
		}
	}
	if err := cl.Apply(ctx, p.objects); err != nil {
		return err
	}
	if err := cl.WaitRolledOut(ctx, p.Namespace, p.deployments, p.MineTimeout, p.MinePoll); err != nil {
		return err
	}
	ok, err := p.mining(ctx, cl, p.MineTimeout)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: DockerCoins deployed in namespace %s but its hashes counter (service %s/%s:%s, /json) did not grow within %s",
			node1, p.Namespace, p.Namespace, counterService, counterPort, p.MineTimeout)
	}
	p.logf(node1, "DockerCoins deployed in namespace %s and mining", p.Namespace)
	return nil
}
