// Package kubeadm is the kubeadm phase of `labctl up`: it turns the nodes
// nodeprep prepared into clusters (kubeadm init, joins, the pod network,
// the attendee's kubeconfig, the waits), each cluster on its own. The
// configuration files it gives kubeadm are rendered by kubeadm/config.
package kubeadm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/kubeadm/config"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/phase"
	"github.com/labctl/labctl/remote"
)

// Phase turns prepared nodes into clusters: kubeadm init on node1,
// kubeadm join (CA pinned, short-lived token) on the others, the CNI, the
// attendee's kubeconfig, and a wait until every node is Ready.
type Phase struct {
	phase.Context
	// InContainer: nodes are containers (local provider): kubelet tweaks.
	InContainer bool
	// ReadyTimeout bounds the wait for Ready nodes (default 5 minutes).
	ReadyTimeout time.Duration
	// Kube is cluster c's API client, through node1 (nil: connect with
	// the kubeconfig the state keeps). Reads through it must leave the
	// run's probe round answered: give it a tunnel outside the round.
	Kube func(ctx context.Context, cluster int) (*kube.Client, error)
	// ServingCerts: kubelets ask the cluster CA for their serving
	// certificates (an add-on verifies them; the addons phase approves).
	// Clusters made before it changed are converged.
	ServingCerts bool

	mu sync.Mutex
}

func (p *Phase) Title() string { return "kubeadm" }

// Run builds every cluster, each on its own: one failing cluster never
// stops the others; the error names each failed cluster, node and step.
func (p *Phase) Run(ctx context.Context) error {
	if p.ReadyTimeout == 0 {
		p.ReadyTimeout = 5 * time.Minute
	}
	err := p.EachCluster(ctx, func(ctx context.Context, c *lab.Cluster) error {
		start := time.Now()
		changed, err := p.cluster(ctx, c)
		o := phase.Outcome{Cluster: c.Index, Phase: "kubeadm", Err: err}
		var se *phase.StepError
		if errors.As(err, &se) {
			o.Step = se.Where()
		}
		if err == nil && changed {
			p.logf("    cluster %02d ready in %s\n", c.Index, time.Since(start).Round(time.Second))
		}
		p.mu.Lock()
		p.Done(o)
		p.mu.Unlock()
		return err
	})
	if serr := p.Save(); serr != nil {
		return errors.Join(err, serr)
	}
	return err
}

func (p *Phase) logf(format string, a ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.Out, format, a...)
}

// step runs one named step on a node; its error says host and step. These
// steps are idempotent (kubeadm join resets a half-joined node first): one
// whose connection was lost runs again.
func (p *Phase) step(ctx context.Context, x phase.Target, name string, cmd remote.Command) (string, error) {
	var out string
	attempts := phase.StepAttempts
	stdin, seekable := cmd.Stdin.(io.Seeker)
	if cmd.Stdin != nil && !seekable {
		attempts = 1 // a second run would read what the first left
	}
	err := remote.RetryLost(ctx, attempts, p.retrying(x.Name(), name), func(ctx context.Context) error {
		if stdin != nil {
			if _, err := stdin.Seek(0, io.SeekStart); err != nil {
				return err
			}
		}
		res, err := x.Run(ctx, cmd)
		out = string(res.Stdout)
		return err
	})
	if err != nil {
		return "", phase.Fail(x.NodeRef, name, err)
	}
	return out, nil
}

// retrying tells the user that a step runs again after a lost connection.
func (p *Phase) retrying(host, step string) func(int, error) {
	return func(n int, err error) {
		p.logf("    %s: step %s: connection lost; running it again (attempt %d of %d)\n", host, step, n, phase.StepAttempts)
	}
}

// stepOnce is step for what must not run twice: kubeadm init, cut short,
// leaves a node that a second init refuses; the next run's probe decides.
func (p *Phase) stepOnce(ctx context.Context, x phase.Target, name string, cmd remote.Command) (string, error) {
	res, err := x.Run(ctx, cmd)
	if err != nil {
		return "", phase.Fail(x.NodeRef, name, err)
	}
	return string(res.Stdout), nil
}

// cluster converges one cluster; changed says whether it had work to do.
func (p *Phase) cluster(ctx context.Context, c *lab.Cluster) (changed bool, err error) {
	n1 := c.Node("node1")
	if n1 == nil {
		return false, fmt.Errorf("cluster %02d has no node1", c.Index)
	}
	x1 := p.Target(c.Index, "node1")
	facts, w, nodes, err := p.probe(ctx, c)
	if err != nil {
		return false, err
	}
	if len(clusterPlan(c, facts, w, nodes, p.cniAddon())) == 0 {
		p.logf("    cluster %02d: every node joined and Ready, nothing to do\n", c.Index)
		return false, nil
	}
	cgroupV1, err := config.ParseCgroupV1(lastLine(facts))
	if err != nil {
		return false, phase.Fail(x1.NodeRef, "probe", err)
	}
	if !strings.Contains(facts, "initialized") {
		if err := p.initialize(ctx, x1, n1, cgroupV1); err != nil {
			return true, err
		}
		if err := p.recordCA(ctx, c, x1); err != nil {
			return true, err
		}
	} else {
		// Kubelets stopped on joined nodes (node1's runs the API server)
		// start before the wait.
		if err := p.startKubelets(ctx, w.start); err != nil {
			return true, err
		}
		if err := p.waitAPI(ctx, c, x1); err != nil {
			return true, err
		}
	}
	if _, err := p.step(ctx, x1, "kubeconfig", remote.Command{Line: KubeconfigScript(c.Login.User)}); err != nil {
		return true, err
	}
	// Before joins: a joining node takes the cluster's kubelet-config.
	if err := p.servingCerts(ctx, c, n1, x1, cgroupV1, w.serving); err != nil {
		return true, err
	}
	if err := p.joinWorkers(ctx, c, n1, x1, w.join); err != nil {
		return true, err
	}
	if p.cniAddon() {
		// Nodes become Ready once the addons phase installed the CNI.
		return true, p.waitRegistered(ctx, c, x1)
	}
	if err := p.network(ctx, c); err != nil {
		return true, err
	}
	return true, p.waitReady(ctx, c, x1)
}

// node1Probe asks node1 whether kubeadm init ran, whether the attendee has
// a kubeconfig, whether its kubelet asks for CA-signed serving
// certificates, its CA and the cgroup version. Which nodes are Ready is
// the API server's to say (probe asks it through kube/).
func node1Probe(c *lab.Cluster) string {
	return fmt.Sprintf("test -f /etc/kubernetes/admin.conf && echo initialized; test -f ~%s/.kube/config && echo kubeconfig; systemctl is-active --quiet kubelet && echo kubelet-active; ", c.Login.User) +
		config.ServingCertsProbe + "; " + caCommand + "; " + config.CgroupVersionCommand()
}

// Probes is each node's probe, by node label, for the run's probe round.
func (p *Phase) Probes() (map[string][]string, error) {
	probes := map[string][]string{}
	for i := range p.State.Clusters {
		c := &p.State.Clusters[i]
		if p.Skipped(c.Index) {
			continue
		}
		for _, n := range c.Nodes {
			line := workerProbe
			if n.Name == "node1" {
				line = node1Probe(c)
			}
			probes[lab.Label(c.Index, n.Name)] = []string{line}
		}
	}
	return probes, nil
}

func (p *Phase) initialize(ctx context.Context, x1 phase.Target, n1 *lab.Node, cgroupV1 bool) error {
	if err := p.uploadInitConfig(ctx, x1, n1, cgroupV1, "kubeadm init"); err != nil {
		return err
	}
	ictx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	start := time.Now()
	if _, err := p.stepOnce(ictx, x1, "kubeadm init", remote.Command{Line: config.InitCommand(config.InitConfigPath) + " 2>&1 || { rc=$?; journalctl -u kubelet -n 15 --no-pager; exit $rc; }"}); err != nil {
		return err
	}
	p.logf("    %s: kubeadm init done in %s\n", x1.Name(), time.Since(start).Round(time.Second))
	return nil
}

// caCertPath is the cluster CA kubeadm init writes on node1.
const caCertPath = "/etc/kubernetes/pki/ca.crt"

// recordCA keeps the cluster CA that labctl's kubeadm init just made: from
// now on the API server is verified against it, whatever node1 says later
// (kube.Connect). The kubeconfig kept before belonged to another CA.
func (p *Phase) recordCA(ctx context.Context, c *lab.Cluster, x1 phase.Target) error {
	const step = "record the cluster CA"
	out, err := p.step(ctx, x1, step, remote.Command{Line: "cat " + caCertPath, MaxOutput: kube.MaxAdminConf})
	if err != nil {
		return err
	}
	ca, _, err := kube.ParseCA([]byte(out))
	if err != nil {
		return phase.Fail(x1.NodeRef, step, fmt.Errorf("%s: %w", caCertPath, err))
	}
	p.mu.Lock()
	c.CA, c.Kubeconfig = string(ca), ""
	p.mu.Unlock()
	return p.Save()
}

// joinWorkers joins the given workers in parallel, with a fresh
// short-lived token and the CA hash pinned.
func (p *Phase) joinWorkers(ctx context.Context, c *lab.Cluster, n1 *lab.Node, x1 phase.Target, todo []phase.Target) error {
	if len(todo) == 0 {
		return nil
	}
	// The CA the workers pin is the one labctl recorded at kubeadm init:
	// whoever is root on node1 must not choose the cluster they join.
	p.mu.Lock()
	rec := kube.RecordedOf(c)
	p.mu.Unlock()
	hash, err := joinCAHash(c.Index, rec.CA)
	if err != nil {
		return phase.Fail(x1.NodeRef, "CA hash", err)
	}
	// A worker that was reset leaves a Node object behind, which makes
	// kubeadm join refuse the name: remove it first.
	cl, err := p.kube(ctx, c)
	if err != nil {
		return phase.Fail(x1.NodeRef, "join", err)
	}
	for _, name := range phase.Nodes(todo) {
		if err := cl.Typed.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return phase.Fail(x1.NodeRef, "join", fmt.Errorf("delete the stale Node %s: %w", name, err))
		}
	}
	tokOut, err := p.step(ctx, x1, "join token", remote.Command{Line: config.TokenCreateCommand(15 * time.Minute)})
	if err != nil {
		return err
	}
	token, err := config.ParseToken(tokOut)
	if err != nil {
		return phase.Fail(x1.NodeRef, "join token", err)
	}
	secret := []string{token.Reveal()}
	return phase.Each(ctx, todo, len(todo), func(ctx context.Context, x phase.Target) error {
		name := x.Node
		n := c.Node(name)
		cfg, err := config.RenderJoin(config.JoinInput{
			KubernetesVersion: p.Lab.Kubernetes.Version, NodeName: name, PrivateAddress: n.PrivateAddress,
			APIServer: n1.PrivateAddress, Token: token, CACertHashes: []string{hash}, InContainer: p.InContainer,
		})
		if err != nil {
			return phase.Fail(x.NodeRef, "kubeadm config", err)
		}
		jctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		// The join file holds the token: it goes away whatever happens.
		// A kubelet.conf left over (another CA, a join cut short) makes the
		// join's preflight fail: reset such a node first.
		line := "if [ -f /etc/kubernetes/kubelet.conf ]; then kubeadm reset -f >/dev/null 2>&1; fi; " +
			config.JoinCommand(config.JoinConfigPath) + " 2>&1; rc=$?; rm -f " + config.JoinConfigPath + "; exit $rc"
		// After a lost connection the file may be gone with the join done:
		// upload it again with the retry.
		return remote.RetryLost(jctx, phase.StepAttempts, p.retrying(x.Name(), "kubeadm join"), func(ctx context.Context) error {
			if err := x.Upload(ctx, bytes.NewReader(cfg), config.JoinConfigPath, 0o600); err != nil {
				return phase.Fail(x.NodeRef, "kubeadm join", err)
			}
			_, err := p.stepOnce(ctx, x, "kubeadm join", remote.Command{Line: line, Secrets: secret})
			return err
		})
	})
}

// joinCAHash is the pin of cluster n's recorded CA (PEM), for kubeadm join.
func joinCAHash(n int, caPEM []byte) (string, error) {
	if len(caPEM) == 0 {
		return "", fmt.Errorf("cluster %d: labctl recorded no cluster CA (it records it at kubeadm init), so the join has nothing to pin; `labctl reset --level hard --cluster %d` rebuilds the cluster", n, n)
	}
	_, ca, err := kube.ParseCA(caPEM)
	if err != nil {
		return "", fmt.Errorf("cluster %d: the cluster CA labctl recorded: %w", n, err)
	}
	return config.CACertHash(ca), nil
}

// KubeconfigScript gives the attendee (and root) kubectl access on node1
// with kubeadm's admin credentials and default names.
func KubeconfigScript(user string) string {
	return fmt.Sprintf(`set -e
H=$(getent passwd %[1]s | cut -d: -f6)
install -d -m 0700 -o %[1]s -g %[1]s "$H/.kube"
install -m 0600 -o %[1]s -g %[1]s /etc/kubernetes/admin.conf "$H/.kube/config"
install -d -m 0700 /root/.kube
install -m 0600 /etc/kubernetes/admin.conf /root/.kube/config`, remote.ShellQuote(user))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
