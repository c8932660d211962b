package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labctl/labctl/addons"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
)

// Phases is the pipeline of `labctl up`, in order.
var Phases = []string{"provision", "nodeprep", "kubeadm", "addons", "coins", "health", "baseline"}

// phasesFrom are up's phases from first to last, in up's order: a start
// and a hard reset run these parts of up again.
func phasesFrom(first, last string) []string {
	i, j := slices.Index(Phases, first), slices.Index(Phases, last)
	if i < 0 || j < i {
		panic("pipeline: no phases from " + first + " to " + last)
	}
	return slices.Clone(Phases[i : j+1])
}

// Available are the phases this version has.
var Available = Phases

// ErrUnavailable marks a phase or option this version does not have yet.
var ErrUnavailable = errors.New("not available yet")

// ErrBadInput marks a lab file that asks for something it cannot have.
var ErrBadInput = errors.New("bad input")

// Up is one `labctl up`: the lab, its locked state, and how to reach it.
// One failed cluster never stops the others: it drops out of the later
// phases, and the run ends with a report per cluster.
type Up struct {
	Lab      *lab.Lab
	State    *lab.State
	Store    *lab.Store
	Provider provision.Provider
	// Engine builds the SSH engine; pin records host keys seen first.
	Engine func(pin func(remote.Host, string) error) (*remote.Engine, error)
	Out    io.Writer
	Only   string // one phase, or "" for all
	DryRun bool
	// SourceDir is where labctl runs: the DockerCoins images are built
	// from the labctl checkout that contains it.
	SourceDir string
	// Clusters limits the run to these clusters (a hard reset rebuilds
	// some); empty: all. Phases, when set, are the phases to run.
	Clusters []int
	Phases   []string
	// Verbose reports every cluster; otherwise a class of more than
	// ListAll clusters reports those that did not end ok, and a count.
	Verbose bool

	m         *Manager
	mu        sync.Mutex
	eng       *remote.Engine
	prefetch  *remote.Prefetch
	start     time.Time
	clients   map[int]*kube.Client // by cluster: see u.kube
	own       string               // labctl's source (see ownModule)
	coinsSkip error                // why the coins phase is skipped (see coinsSource)
}

// save is the one way phases write the state; a dry run writes nothing
// (nodeprep still makes cluster keys in memory, to render its plan).
func (u *Up) save() error {
	if u.DryRun {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.Store.Save(u.State)
}

// Run converges the lab: the builds, provision, then every later phase
// (or only u.Only), then a report.
func (u *Up) Run(ctx context.Context) error {
	only := u.Only
	if only != "" && !slices.Contains(Phases, only) {
		return fmt.Errorf("--only: %q is not one of %s", only, strings.Join(Phases, ", "))
	}
	if only != "" && !slices.Contains(Available, only) {
		return fmt.Errorf("the %s phase is %w in this version", only, ErrUnavailable)
	}
	// What the add-ons need is found out before any node is touched.
	selected, err := addons.Selected(u.Lab, addons.Registry())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if err := u.coinsSource(ctx); err != nil {
		return err
	}
	u.m = &Manager{Out: u.Out, DryRun: u.DryRun}
	u.start = time.Now().UTC()
	// The builds come first: one that fails leaves no machine idle.
	var first []Phase
	build := u.buildPhase(selected)
	if u.want("provision") {
		if err := checkEnd(u.Lab, u.start); err != nil {
			return err
		}
	}
	if len(build.steps) > 0 {
		first = append(first, build)
	}
	if u.want("provision") {
		req := provision.Request{Lab: u.Lab, StateDir: u.Store.Dir(), State: u.State, Out: u.Out}
		first = append(first, &provision.Phase{Provider: u.Provider, Request: req, Save: u.save})
	}
	if err := u.m.Run(ctx, first...); err != nil {
		return err
	}
	if len(u.State.Clusters) == 0 && u.DryRun && only == "" {
		fmt.Fprintln(u.Out, "==> the other phases plan once the nodes exist")
		return nil
	}
	if len(u.State.Clusters) == 0 {
		return fmt.Errorf("no nodes yet: run `labctl up` (or --only provision) first")
	}
	if u.DryRun && only == "provision" {
		return nil
	}
	u.eng, err = u.Engine(pinInto(&u.mu, u.State))
	if err != nil {
		return err
	}
	defer u.eng.Close()
	u.prefetch = remote.NewPrefetch()
	todo, err := u.phases(selected, &build.built)
	if err != nil {
		return err
	}
	u.probeRound(ctx, todo)
	// A failed cluster drops out; the others carry on to the end.
	for _, p := range todo {
		if err := u.m.Run(ctx, p); err != nil && (ctx.Err() != nil || u.healthy() == 0) {
			return u.report(err)
		}
	}
	return u.report(nil)
}

// coinsSource finds labctl's source, which the DockerCoins images are
// built from. Without it, a run that deploys the app (or asks for the
// coins phase alone) stops here; otherwise the phase is skipped, since
// preloading is a convenience.
func (u *Up) coinsSource(ctx context.Context) error {
	if !u.want("coins") {
		return nil
	}
	if _, err := u.ownModule(ctx); err != nil {
		err = fmt.Errorf("%w: %v", ErrNoSource, err)
		if u.Lab.Coins.Enabled || u.Only != "" {
			return err
		}
		u.coinsSkip = err
	}
	return nil
}

func (u *Up) logf(format string, a ...any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	fmt.Fprintf(u.Out, format, a...)
}

// failed says whether a phase failed on cluster c during this run.
func (u *Up) failed(c int) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.failedLocked(c)
}

func (u *Up) failedLocked(c int) bool {
	if u.left(c) {
		return true // not in this run: every phase skips it
	}
	cl := u.State.Cluster(c)
	for _, r := range cl.Phases {
		if !r.OK && !r.At.Before(u.start) {
			return true
		}
	}
	return false
}

// left says whether cluster c is left out of this run (see Clusters).
func (u *Up) left(c int) bool {
	return len(u.Clusters) > 0 && !slices.Contains(u.Clusters, c)
}

func (u *Up) healthy() int {
	n := 0
	for _, c := range u.State.Clusters {
		if !u.failed(c.Index) {
			n++
		}
	}
	return n
}

// ListAll is how many clusters a report lists one by one, ok or not.
const ListAll = 20

// report prints one line per cluster and returns an error naming the
// clusters that failed, with the phase, host and step.
func (u *Up) report(cause error) error {
	if u.DryRun {
		return cause
	}
	fmt.Fprintln(u.Out, "==> report")
	// A stopped run (a signal, a deadline) did not finish the clusters
	// that did not fail: they are not ok, a re-run resumes them.
	unfinished := "ok"
	if errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
		unfinished = "interrupted before the end of the run (`labctl up` resumes it)"
	}
	var failed []string
	ok := 0 // clusters ok, not listed
	defer func() {
		if ok > 0 {
			fmt.Fprintf(u.Out, "    %d other clusters: ok (-v lists them)\n", ok)
		}
	}()
	for _, c := range u.State.Clusters {
		if u.left(c.Index) {
			continue
		}
		line := unfinished
		for _, name := range Phases {
			if r, ok := c.Phases[name]; ok && !r.OK && !r.At.Before(u.start) {
				line = fmt.Sprintf("FAILED in %s at %s: %s", name, r.Step, r.Error)
				failed = append(failed, fmt.Sprintf("cluster %02d (%s, %s)", c.Index, name, r.Step))
				break
			}
		}
		if r, ok := c.Phases["reach"]; ok && !r.OK && !r.At.Before(u.start) {
			line = fmt.Sprintf("FAILED: unreachable: %s", r.Error)
			failed = append(failed, fmt.Sprintf("cluster %02d (%s)", c.Index, r.Step))
		}
		if line == "ok" && !u.Verbose && len(u.State.Clusters) > ListAll {
			ok++
			continue
		}
		fmt.Fprintf(u.Out, "    cluster %02d%s: %s\n", c.Index, seatNote(u.State, c.Index), remote.EscapeLine(firstLineOf(line)))
		if r, ok := c.Phases["health"]; ok && !r.OK && !r.At.Before(u.start) && strings.HasPrefix(line, "FAILED in health") {
			// Every failed check, each naming its node and what it saw.
			_, rest, _ := strings.Cut(r.Error, "\n")
			for _, l := range strings.Split(rest, "\n") {
				fmt.Fprintf(u.Out, "        %s\n", remote.EscapeLine(l))
			}
		}
	}
	if len(failed) > 0 {
		n := len(u.State.Clusters)
		if len(u.Clusters) > 0 {
			n = len(u.Clusters)
		}
		return fmt.Errorf("%d of %d clusters failed: %s", len(failed), n, strings.Join(failed, "; "))
	}
	return cause
}

// seatNote says, in a lab with spares, whom cluster c serves: " (attendee
// 01)" or " (spare)"; "" without spares.
func seatNote(s *lab.State, c int) string {
	if !s.Seated() {
		return ""
	}
	if a := s.AttendeeOf(c); a > 0 {
		return fmt.Sprintf(" (attendee %02d)", a)
	}
	return " (spare)"
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// pinInto records new host keys in the state in memory (the phases save
// it), under mu since hosts are dialled at once.
func pinInto(mu *sync.Mutex, st *lab.State) func(remote.Host, string) error {
	return func(h remote.Host, key string) error {
		mu.Lock()
		defer mu.Unlock()
		st.Pin(h.Cluster, h.Node, h.Addr(), key)
		return nil
	}
}
