package artifacts

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"time"
)

//go:embed pause/main.go
var pauseSource []byte

// k8sCommands are built in one `go build` so the shared packages compile once.
var k8sCommands = []string{"kubeadm", "kubelet", "kubectl", "kube-apiserver",
	"kube-controller-manager", "kube-scheduler", "kube-proxy"}

// compile builds every binary into bin with three `go build` runs, one per
// scratch module: Kubernetes (+ pause), etcd, CoreDNS. Each module resolves
// its own dependencies exactly as upstream pins them.
func (b *builder) compile(ctx context.Context, tmp, bin string) error {
	r := b.recipe
	goMod, err := os.ReadFile(filepath.Join(b.k8sDir, "go.mod"))
	if err != nil {
		return err
	}
	replaces, err := StagingReplaces(goMod, r.Kubernetes)
	if err != nil {
		return err
	}
	commitTime, err := moduleTime(b.env, "k8s.io/kubernetes", r.Kubernetes)
	if err != nil {
		return err
	}

	k8s := filepath.Join(tmp, "src", "k8s")
	if err := scratchModule(k8s, b.env.GOVERSION, map[string]string{"k8s.io/kubernetes": r.Kubernetes},
		replaces, map[string][]byte{"pause/main.go": pauseSource}); err != nil {
		return err
	}
	args := []string{"build", "-trimpath", "-ldflags", k8sLDFlags(r.Kubernetes, b.minor, commitTime), "-o", bin + "/"}
	for _, c := range k8sCommands {
		args = append(args, "k8s.io/kubernetes/cmd/"+c)
	}
	if err := b.goBuild(ctx, k8s, "kubernetes "+r.Kubernetes+" + pause", append(args, "./pause")...); err != nil {
		return err
	}

	etcd := filepath.Join(tmp, "src", "etcd")
	if err := scratchModule(etcd, b.env.GOVERSION, map[string]string{"go.etcd.io/etcd/server/v3": r.EtcdModuleVersion()}, nil, map[string][]byte{}); err != nil {
		return err
	}
	if err := b.goBuild(ctx, etcd, "etcd "+r.EtcdModuleVersion(), "build", "-trimpath", "-ldflags", "-s -w",
		"-o", filepath.Join(bin, "etcd"), "go.etcd.io/etcd/server/v3"); err != nil {
		return err
	}

	coredns := filepath.Join(tmp, "src", "coredns")
	if err := scratchModule(coredns, b.env.GOVERSION, map[string]string{"github.com/coredns/coredns": r.CoreDNS}, nil, map[string][]byte{}); err != nil {
		return err
	}
	return b.goBuild(ctx, coredns, "coredns "+r.CoreDNS, "build", "-trimpath", "-ldflags", "-s -w",
		"-o", filepath.Join(bin, "coredns"), "github.com/coredns/coredns")
}

// buildSteps are the steps a cold build announces, for "step k of n".
const buildSteps = 4 // kubernetes, etcd, coredns, images

// goBuild runs one go build, saying which step of the build it is and,
// every progressEvery, that it is still at it: a cold Kubernetes build is
// a quarter of an hour of one command.
func (b *builder) goBuild(ctx context.Context, dir, what string, args ...string) error {
	t := time.Now()
	b.step++
	b.logf("[%d/%d] go build %s ... (%s since the build started)", b.step, buildSteps, what, time.Since(b.started).Round(time.Second))
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				b.logf("[%d/%d] go build %s: still compiling, %s so far", b.step, buildSteps, what, time.Since(t).Round(time.Second))
			}
		}
	}()
	if _, err := b.gt.run(ctx, dir, b.recipe.Arch, args...); err != nil {
		return err
	}
	b.logf("[%d/%d] go build %s: %s", b.step, buildSteps, what, time.Since(t).Round(time.Second))
	return nil
}

// progressEvery is how often a long compile says it is still running.
var progressEvery = time.Minute

func fileSHA256(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
