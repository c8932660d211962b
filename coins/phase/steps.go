package phase

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/labctl/labctl/coins/images"
	"github.com/labctl/labctl/coins/mirror"
	"github.com/labctl/labctl/remote"
)

// Commands run on the nodes.
const (
	listImages   = "ctr -n k8s.io images ls -q"
	importImages = "ctr -n k8s.io images import " + RemoteArchive
	removeUpload = "rm -f " + RemoteArchive
)

// Probes is each node's probe, by node label, for the run's probe round.
func (p *Phase) Probes() (map[string][]string, error) {
	probes := map[string][]string{}
	for _, c := range p.cfg.Clusters {
		for _, n := range c.Nodes {
			probes[n.Name()] = []string{listImages}
			if p.sums != nil {
				probes[n.Name()] = append(probes[n.Name()], probeMirror)
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
	have := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(res.Stdout))
	for sc.Scan() {
		have[strings.TrimSpace(sc.Text())] = true
	}
	var missing []string
	for _, ref := range images.FullRefs() {
		if !have[ref] {
			missing = append(missing, ref)
		}
	}
	return missing, nil
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
	f, err := os.Open(p.cfg.Archive)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := node.Upload(ctx, f, RemoteArchive, 0o644); err != nil {
		return fmt.Errorf("%s: upload %s: %w", node.Name(), RemoteArchive, err)
	}
	_, importErr := run(ctx, node, importImages, nil)
	switch {
	case importErr != nil:
	case plan.install:
		importErr = p.installMirrorOn(ctx, node, plan)
	case plan.restart:
		_, importErr = run(ctx, node, restartMirror, nil)
	}
	// The archive is tens of MB: remove it even when the import failed.
	if _, err := run(ctx, node, removeUpload, nil); err != nil && importErr == nil {
		return err
	}
	if importErr != nil {
		return importErr
	}
	if missing, err = p.missingImages(ctx, node); err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: %q succeeded but %q still lacks %v", node.Name(), importImages, listImages, missing)
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

func (p *Phase) kubectl(args string) string {
	return "KUBECONFIG=" + p.cfg.Kubeconfig + " kubectl " + args
}

// hashesCommand reads the mining counter from the stack's Redis.
func (p *Phase) hashesCommand() string {
	return p.kubectl("-n " + p.cfg.Namespace + " exec deploy/redis -- redis-cli get hashes")
}

// hashes reads the counter; ok is false when there is no number to read
// (not deployed, not ready, or nothing mined yet).
func (p *Phase) hashes(ctx context.Context, node remote.Executor) (n int64, ok bool) {
	res, err := run(ctx, node, p.hashesCommand(), nil)
	if err != nil {
		return 0, false
	}
	n, err = strconv.ParseInt(strings.TrimSpace(string(res.Stdout)), 10, 64)
	return n, err == nil
}

// mining reports whether the counter grows within the timeout, polling.
func (p *Phase) mining(ctx context.Context, node remote.Executor, timeout time.Duration) (bool, error) {
	deadline := time.Now().Add(timeout)
	first, seen := int64(0), false
	for {
		if n, ok := p.hashes(ctx, node); ok {
			if seen && n > first {
				return true, nil
			}
			if !seen || n < first { // a restarted Redis starts again from 0
				first, seen = n, true
			}
		}
		if !time.Now().Add(p.cfg.MinePoll).Before(deadline) {
			return false, nil
		}
		select {
		case <-time.After(p.cfg.MinePoll):
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// deploy applies the stack on node1 unless it is mining already, then waits
// for the counter to grow.
func (p *Phase) deploy(ctx context.Context, node1 remote.Executor) error {
	if _, ok := p.hashes(ctx, node1); ok {
		// Deployed before: leave it (and attendees' changes) alone if it mines.
		if ok, err := p.mining(ctx, node1, 3*p.cfg.MinePoll); err != nil || ok {
			if ok {
				p.logf(node1.Name(), "DockerCoins already mining in namespace %s", p.cfg.Namespace)
			}
			return err
		}
	}
	if _, err := run(ctx, node1, p.kubectl("apply -f -"), bytes.NewReader(p.manifest)); err != nil {
		return err
	}
	wait := p.kubectl(fmt.Sprintf("-n %s wait --for=condition=Available deployment --all --timeout=%s",
		p.cfg.Namespace, p.cfg.MineTimeout.Round(time.Second).String()))
	if _, err := run(ctx, node1, wait, nil); err != nil {
		return err
	}
	ok, err := p.mining(ctx, node1, p.cfg.MineTimeout)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: DockerCoins deployed in namespace %s but %q did not grow within %s",
			node1.Name(), p.cfg.Namespace, p.hashesCommand(), p.cfg.MineTimeout)
	}
	p.logf(node1.Name(), "DockerCoins deployed in namespace %s and mining", p.cfg.Namespace)
	return nil
}
