// Package board is the instructor's live page: one row per attendee
// cluster (nodes, health, sessions, last activity, DockerCoins' speed and
// the course checks), refreshed in the background at a bounded rate over
// one connection per cluster, and pushed to open pages as server-sent
// events. Viewing the page costs the clusters nothing; it changes nothing.
package board

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/labctl/labctl/check"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/remote"
	"github.com/labctl/labctl/status"
)

// Defaults for Options.
const (
	DefaultInterval = 5 * time.Second
	DefaultTimeout  = 15 * time.Second
	DefaultListen   = "127.0.0.1:8042"
)

// Options tune the board.
type Options struct {
	// Interval is the least time between two refreshes of one cluster.
	Interval time.Duration
	// Timeout bounds one refresh of one cluster; past it the row is
	// marked timed out and the cluster's connection dropped.
	Timeout time.Duration
	// Parallel bounds how many clusters refresh at once.
	Parallel int
	// ShowSecrets shows the attendees' passwords.
	ShowSecrets bool
	// Sessions, when set, says how many terminal or SSH sessions a
	// cluster has open (the column shows "-" without it).
	Sessions func(cluster int) (int, bool)
	// Connect, when set, opens a cluster's API client instead of
	// kube.Connect through node1 (tests).
	Connect func(ctx context.Context, c lab.Cluster) (*kube.Client, error)
	// Probe, when set, replaces status.Probe (tests).
	Probe func(ctx context.Context, c lab.Cluster, connect func(context.Context) (*kube.Client, error)) status.Row
}

// View is what the page shows of one cluster. Every string in it may
// come from the attendee's cluster: the page escapes them all.
type View struct {
	Cluster      int                `json:"cluster"`
	User         string             `json:"user"`
	Password     string             `json:"password"`
	Reachable    int                `json:"reachable"`
	Total        int                `json:"total"`
	Ready        *int               `json:"ready"`
	Health       string             `json:"health"`
	HealthFailed []string           `json:"healthFailed,omitempty"`
	Nodes        []status.NodeState `json:"nodes,omitempty"`
	KubeError    string             `json:"kubeError,omitempty"`
	Sessions     *int               `json:"sessions"`
	LastActivity *time.Time         `json:"lastActivity"`
	// HashRate is DockerCoins' hashes per second between two refreshes
	// (nil: not deployed, or one sample so far).
	HashRate *float64       `json:"hashRate"`
	Results  []check.Result `json:"results"`
	Done     []string       `json:"done"`
	// Error marks a refresh that failed or timed out.
	Error   string    `json:"error,omitempty"`
	Updated time.Time `json:"updated"`

	hashes *check.Hashes
}

// Board keeps the latest view of every cluster.
type Board struct {
	opts     Options
	course   *check.Course
	clusters []lab.Cluster
	exec     func(cluster int, node string) remote.Executor

	mu      sync.Mutex
	views   []View
	version uint64
	changed chan struct{}
	conns   map[int]*kube.Client
}

// New makes a board of the state's clusters; exec reaches a node.
func New(s *lab.State, course *check.Course, exec func(cluster int, node string) remote.Executor, o Options) *Board {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Parallel <= 0 {
		o.Parallel = lab.DefaultParallel
	}
	b := &Board{opts: o, course: course, clusters: s.Clusters, exec: exec, changed: make(chan struct{}), conns: map[int]*kube.Client{}}
	for _, c := range s.Clusters {
		v := View{Cluster: c.Index, User: c.Login.User, Password: "hidden", Health: "-", Error: "not refreshed yet", Results: []check.Result{}, Done: []string{}}
		if o.ShowSecrets {
			v.Password = c.Login.Password
		}
		b.views = append(b.views, v)
	}
	return b
}

// Run refreshes every cluster until ctx ends: each cluster in its own
// loop, at most Parallel at once, each at most every Interval.
func (b *Board) Run(ctx context.Context) {
	sem := make(chan struct{}, b.opts.Parallel)
	var wg sync.WaitGroup
	for i := range b.clusters {
		wg.Go(func() {
			for {
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				start := time.Now()
				b.refreshOne(ctx, i)
				<-sem
				select {
				case <-time.After(b.opts.Interval - min(time.Since(start), b.opts.Interval)):
				case <-ctx.Done():
					return
				}
			}
		})
	}
	wg.Wait()
}

// RefreshAll refreshes every cluster once, Parallel at once: one round
// of what Run does in the background.
func (b *Board) RefreshAll(ctx context.Context) {
	sem := make(chan struct{}, b.opts.Parallel)
	var wg sync.WaitGroup
	for i := range b.clusters {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			b.refreshOne(ctx, i)
		})
	}
	wg.Wait()
}

// Snapshot is every cluster's view and a version that grows on each change.
func (b *Board) Snapshot() ([]View, uint64, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]View(nil), b.views...), b.version, b.changed
}

func (b *Board) set(i int, v View) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.views[i] = v
	b.version++
	close(b.changed)
	b.changed = make(chan struct{})
}

// refreshOne refreshes cluster i within the timeout. A refresh stuck past
// it marks the row and is left to end on its own (its context is
// cancelled); the loop waits for it before starting another.
func (b *Board) refreshOne(ctx context.Context, i int) {
	c := b.clusters[i]
	ctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	defer cancel()
	b.mu.Lock()
	prev := b.views[i]
	b.mu.Unlock()
	done := make(chan View, 1)
	go func() { done <- b.collect(ctx, c, prev) }()
	select {
	case v := <-done:
		b.set(i, v)
	case <-ctx.Done():
		v := prev
		v.Error = fmt.Sprintf("timed out after %s (last seen %s)", b.opts.Timeout, prev.Updated.Format("15:04:05"))
		b.dropConn(c.Index)
		b.set(i, v)
		<-done
	}
}

// conn is the cluster's API client, opened once and reused.
func (b *Board) conn(ctx context.Context, c lab.Cluster) (*kube.Client, error) {
	b.mu.Lock()
	cl := b.conns[c.Index]
	b.mu.Unlock()
	if cl != nil {
		return cl, nil
	}
	var err error
	if b.opts.Connect != nil {
		cl, err = b.opts.Connect(ctx, c)
	} else {
		cl, err = kube.Connect(ctx, b.exec(c.Index, check.FirstNode(c)), kube.RecordedOf(&c), nil)
	}
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.conns[c.Index] = cl
	b.mu.Unlock()
	return cl, nil
}

func (b *Board) dropConn(cluster int) {
	b.mu.Lock()
	delete(b.conns, cluster)
	b.mu.Unlock()
}

func (b *Board) collect(ctx context.Context, c lab.Cluster, prev View) View {
	v := View{Cluster: c.Index, User: prev.User, Password: prev.Password, Health: "-", Results: []check.Result{}, Done: []string{}, Updated: time.Now()}
	connect := func(ctx context.Context) (*kube.Client, error) { return b.conn(ctx, c) }
	row := b.probe(ctx, c, connect)
	v.Reachable, v.Total, v.Ready, v.Nodes, v.KubeError = row.Reachable, row.Total, row.Ready, row.Nodes, row.KubeError
	if row.Health != nil {
		v.Health = "ok"
		if !row.Health.OK {
			v.Health = fmt.Sprintf("%d failed", len(row.Health.Failed))
		}
		v.HealthFailed = row.Health.Failed
	}
	if b.opts.Sessions != nil {
		if n, ok := b.opts.Sessions(c.Index); ok {
			v.Sessions = &n
		}
	} else if row.Sessions != nil {
		// status' count on node1: web terminals and SSH connections.
		n := row.Sessions.Web + row.Sessions.SSH
		v.Sessions = &n
	}
	if row.KubeError != "" || row.Ready == nil {
		b.dropConn(c.Index)
		v.Error = "API server not reachable"
		if row.KubeError != "" {
			v.Error = row.KubeError
		} else if row.Reachable == 0 {
			v.Error = "no node reachable"
		}
		return v
	}
	cl, err := b.conn(ctx, c)
	if err != nil {
		v.Error = err.Error()
		return v
	}
	var n1 remote.Executor
	if x := b.exec(c.Index, check.FirstNode(c)); x != nil {
		n1 = x
	}
	env := check.Env{Typed: cl.Typed, Dynamic: cl.Dynamic, Node1: n1, User: c.Login.User}
	for _, ch := range b.course.Chapters {
		all := true
		for _, k := range ch.Checks {
			r := check.Eval(ctx, env, k)
			r.Chapter = ch.ID
			all = all && r.OK
			v.Results = append(v.Results, r)
		}
		if all {
			v.Done = append(v.Done, ch.ID)
		}
	}
	v.LastActivity = lastActivity(ctx, cl)
	if h, err := hashes(ctx, cl); err == nil {
		v.hashes = &h
		if p := prev.hashes; p != nil && h.Now > p.Now {
			rate := (h.Hashes - p.Hashes) / (h.Now - p.Now)
			v.HashRate = &rate
		}
	}
	if ctx.Err() != nil {
		v.Error = "timed out"
	}
	return v
}

func (b *Board) probe(ctx context.Context, c lab.Cluster, connect func(context.Context) (*kube.Client, error)) status.Row {
	if b.opts.Probe != nil {
		return b.opts.Probe(ctx, c, connect)
	}
	rows := status.Probe(ctx, &lab.State{Clusters: []lab.Cluster{c}}, b.exec, status.Options{
		Timeout:  b.opts.Timeout / 3,
		Parallel: b.opts.Parallel,
		Health:   true,
		Connect: func(ctx context.Context, _ lab.Cluster, _ remote.Executor) (*kube.Client, error) {
			return connect(ctx)
		},
	})
	if len(rows) == 0 {
		return status.Row{Cluster: c.Index}
	}
	return rows[0]
}

// lastActivity is when the newest pod outside kube-system was created:
// what an attendee last started.
func lastActivity(ctx context.Context, cl *kube.Client) *time.Time {
	pods, err := cl.Typed.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.namespace!=kube-system"})
	if err != nil {
		return nil
	}
	var last time.Time
	for _, p := range pods.Items {
		if t := p.CreationTimestamp.Time; t.After(last) {
			last = t
		}
	}
	if last.IsZero() {
		return nil
	}
	return &last
}

// hashes reads DockerCoins' counters when the attendee has a webui
// service in the default namespace (as the deck deploys it).
func hashes(ctx context.Context, cl *kube.Client) (check.Hashes, error) {
	if _, err := cl.Typed.CoreV1().Services("default").Get(ctx, "webui", metav1.GetOptions{}); err != nil {
		return check.Hashes{}, err
	}
	return check.ReadHashes(ctx, cl.Typed, "default")
}
