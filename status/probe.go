// Package status answers "which clusters are healthy?" during a class: it
// probes every node in parallel with short timeouts and reads the phases
// recorded in the state, one row per attendee cluster.
package status

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
)

// Phase names whose results get their own column, when a cluster has them.
const (
	PhaseAddons = "addons"
	PhaseCoins  = "coins"
)

// DefaultTimeout bounds one probe of one node.
const DefaultTimeout = 5 * time.Second

// What KubeadmCommand prints on a node kubeadm has set up, or has not.
const (
	hasKubeadm = "labctl-status:kubeadm"
	noKubeadm  = "labctl-status:no-kubeadm"
)

// Commands the probes run. Every node gets PingCommand except node1, which
// answers KubeadmCommand: one round trip proves it reachable and says
// whether there is an API server to ask (through kube/, one client per
// cluster) how many nodes are Ready.
const (
	PingCommand    = "true"
	KubeadmCommand = "if [ -f " + kube.AdminConf + " ]; then echo " + hasKubeadm + "; else echo " + noKubeadm + "; fi"
)

// Options tune Probe.
type Options struct {
	// Timeout bounds each node's probe (DefaultTimeout when 0).
	Timeout time.Duration
	// Parallel is how many nodes are probed at once (remote.DefaultParallel when 0).
	Parallel int
	// Health runs one round of the health checks on every cluster whose
	// node1 answered (through client-go and one command per node).
	Health bool
	// Connect opens cluster c's API client through node1 (x1); nil:
	// kube.Connect with the kubeconfig the state keeps, saving nothing.
	Connect func(ctx context.Context, c lab.Cluster, x1 remote.Executor) (*kube.Client, error)
}

// Row is one attendee cluster's health. It never holds a secret.
type Row struct {
	Cluster int `json:"cluster"`
	// Attendee is who the cluster serves, and Spare says it serves no
	// one, in a lab with spares (both unset without: attendee N is
	// cluster N). NeedsReset says why a spare waits for labctl reset.
	Attendee   int         `json:"attendee,omitempty"`
	Spare      bool        `json:"spare,omitempty"`
	NeedsReset string      `json:"needsReset,omitempty"`
	Nodes      []NodeState `json:"nodes"`
	Reachable  int         `json:"reachable"`
	Total      int         `json:"total"`
	// Ready counts the nodes Kubernetes reports Ready; nil when unknown
	// (kubeadm has not run, or node1 did not answer).
	Ready *int `json:"ready"`
	// Registered counts the nodes Kubernetes knows; nil when unknown.
	Registered *int `json:"registered,omitempty"`
	// KubeError is why asking node1 or its API server failed, when it did.
	KubeError string `json:"kubeError,omitempty"`
	// Health is one round of the checks up gates on (nil: not run, since
	// node1 did not answer or kubeadm has not run).
	Health *Health `json:"health,omitempty"`
	// Sessions are the web terminals and SSH connections open on node1
	// (nil: node1 did not say).
	Sessions *Sessions `json:"sessions,omitempty"`
	Addons   *Phase    `json:"addons,omitempty"`
	Coins    *Phase    `json:"coins,omitempty"`
	// Last is the most recent phase recorded for the cluster.
	Last *Phase `json:"last,omitempty"`
	// Power is set once labctl stop stopped the cluster (see Power).
	Power *Power `json:"power,omitempty"`

	// kubeadm: node1 answered that kubeadm set it up.
	kubeadm bool
}

// NodeState is what a probe learned about one node.
type NodeState struct {
	Name      string `json:"name"`
	Address   string `json:"address"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	late      bool   // no answer in the first round: asked again
}

// Phase is a phase's last result on the cluster, as the state recorded it.
type Phase struct {
	Name  string    `json:"name"`
	OK    bool      `json:"ok"`
	At    time.Time `json:"at"`
	Step  string    `json:"step,omitempty"`
	Error string    `json:"error,omitempty"`
}

// Unreachable lists the names of the nodes that did not answer.
func (r Row) Unreachable() []string {
	var out []string
	for _, n := range r.Nodes {
		if !n.Reachable {
			out = append(out, n.Name)
		}
	}
	return out
}

type target struct {
	remote.Executor
	row, node int
	first     bool
	user      string // the attendee login (node1 counts its sessions)
}

// Probe checks every node of every cluster at once, each within
// o.Timeout from its turn to connect (remote.TimeoutFromTurn), and
// returns one row per cluster in cluster order. exec gives the executor of
// a node (nil when it has none). Probe returns within about turnLimit
// timeouts per wave of o.Parallel nodes even if an executor ignores its
// context.
func Probe(ctx context.Context, st *lab.State, exec func(cluster int, node string) remote.Executor, o Options) []Row {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	clusters := append([]lab.Cluster(nil), st.Clusters...)
	sort.Slice(clusters, func(i, j int) bool { return clusters[i].Index < clusters[j].Index })
	secrets := st.Secrets()
	rows := make([]Row, len(clusters))
	var targets []remote.Executor
	for i, c := range clusters {
		rows[i] = Row{Cluster: c.Index, Total: len(c.Nodes)}
		if st.Seated() {
			rows[i].Attendee = st.AttendeeOf(c.Index)
			rows[i].Spare = rows[i].Attendee == 0
			if rows[i].Spare {
				rows[i].NeedsReset = c.NeedsReset
			}
		}
		rows[i].Addons = phase(c, PhaseAddons, secrets)
		rows[i].Coins = phase(c, PhaseCoins, secrets)
		rows[i].Last = lastPhase(c, secrets)
		rows[i].Power = power(c, time.Now())
		first := c.FirstNode()
		for j, n := range c.Nodes {
			rows[i].Nodes = append(rows[i].Nodes, NodeState{Name: n.Name, Address: n.PublicAddress})
			if c.Stopped() {
				rows[i].Nodes[j].Error = "stopped"
				continue // labctl stop stopped it: not a failure to probe
			}
			x := exec(c.Index, n.Name)
			if x == nil {
				rows[i].Nodes[j].Error = "no way to reach it (no address in the state)"
				continue
			}
			targets = append(targets, &target{Executor: x, row: i, node: j, first: n.Name == first, user: c.Login.User})
		}
	}
	// Each target writes only its own node's fields, and node1's target the
	// row's Kubernetes fields, so the goroutines never share a field.
	remote.Each(ctx, targets, o.Parallel, func(ctx context.Context, x remote.Executor) error {
		t := x.(*target)
		probeNode(ctx, t, &rows[t.row], o.Timeout, 0, secrets)
		return nil
	})
	// A second chance for the late ones, alone and with twice the time: on
	// a busy machine, hundreds of handshakes at once can each take longer
	// than the timeout although every node is up. A node that is really
	// down costs 3 timeouts instead of one.
	var late []remote.Executor
	for _, x := range targets {
		if t := x.(*target); rows[t.row].Nodes[t.node].late {
			rows[t.row].Nodes[t.node] = NodeState{Name: rows[t.row].Nodes[t.node].Name, Address: rows[t.row].Nodes[t.node].Address}
			late = append(late, x)
		}
	}
	remote.Each(ctx, late, o.Parallel, func(ctx context.Context, x remote.Executor) error {
		t := x.(*target)
		probeNode(ctx, t, &rows[t.row], secondChance*o.Timeout, o.Timeout, secrets)
		return nil
	})
	askAPI(ctx, clusters, rows, exec, o, secrets)
	for i := range rows {
		for _, n := range rows[i].Nodes {
			if n.Reachable {
				rows[i].Reachable++
			}
		}
	}
	return rows
}

// turnLimit bounds a probe with its wait for its turn to connect (see
// remote.TimeoutFromTurn), in timeouts.
const turnLimit = 4

// secondChance is the timeout of a late node's second probe, in timeouts.
const secondChance = 2

// probeNode probes one node within timeout; first is the first round's
// timeout when this is the second chance (0 otherwise).
func probeNode(ctx context.Context, t *target, row *Row, timeout, first time.Duration, secrets []string) {
	// The timeout starts when the engine starts connecting to the node, not
	// while the node waits for a handshake slot behind the others.
	ctx, cancel := remote.TimeoutFromTurn(ctx, timeout, turnLimit*timeout)
	defer cancel()
	line := PingCommand
	if t.first {
		line = KubeadmCommand
		if userOK(t.user) {
			line = Node1Command(t.user)
		}
	}
	res, err := runBounded(ctx, t.Executor, remote.Command{Line: line, Secrets: secrets})
	node := &row.Nodes[t.node]
	var exit *remote.ExitError
	switch {
	case err == nil:
		node.Reachable = true
	case errors.As(err, &exit):
		// It answered: the host is up even if the command failed.
		node.Reachable = true
	case ctx.Err() != nil:
		// Whatever the executor said, the probe ran out of time.
		node.Error = fmt.Sprintf("no answer within %s", timeout)
		if first == 0 {
			node.late = true
		} else {
			node.Error = fmt.Sprintf("no answer within %s, nor within %s on a second try", first, timeout)
		}
		if !errors.Is(err, context.DeadlineExceeded) || err.Error() != context.DeadlineExceeded.Error() {
			// The executor kept retrying: its last error says why.
			node.Error += " (" + redact(oneLine(err.Error()), secrets) + ")"
		}
		return
	default:
		node.Error = redact(oneLine(err.Error()), secrets)
		return
	}
	if !t.first {
		return
	}
	if exit != nil {
		row.KubeError = redact(fmt.Sprintf("%s: %q exited %d: %s", node.Name, KubeadmCommand, exit.ExitCode, oneLine(exit.Output)), secrets)
		return
	}
	row.kubeadm = strings.Contains(string(res.Stdout), hasKubeadm)
	row.Sessions = parseSessions(string(res.Stdout))
}

// runBounded runs cmd but returns when ctx ends even if the executor does
// not, so one wedged connection cannot hang the whole status.
func runBounded(ctx context.Context, x remote.Executor, cmd remote.Command) (remote.Result, error) {
	type answer struct {
		res remote.Result
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		res, err := x.Run(ctx, cmd)
		ch <- answer{res, err}
	}()
	select {
	case a := <-ch:
		return a.res, a.err
	case <-ctx.Done():
	}
	// A well-behaved executor returns right after its context ends, often
	// with the reason it could not connect: worth a short wait.
	select {
	case a := <-ch:
		return a.res, a.err
	case <-time.After(graceAfterTimeout):
		return remote.Result{}, ctx.Err()
	}
}

// graceAfterTimeout is how long a timed-out probe waits for the executor's
// own error before giving up on it.
const graceAfterTimeout = 200 * time.Millisecond

func phase(c lab.Cluster, name string, secrets []string) *Phase {
	r, ok := c.Phases[name]
	if !ok {
		return nil
	}
	return &Phase{Name: name, OK: r.OK, At: r.At, Step: r.Step, Error: redact(r.Error, secrets)}
}

func lastPhase(c lab.Cluster, secrets []string) *Phase {
	var last *Phase
	for name := range c.Phases {
		p := phase(c, name, secrets)
		if last == nil || p.At.After(last.At) || (p.At.Equal(last.At) && p.Name < last.Name) {
			last = p
		}
	}
	return last
}

func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
