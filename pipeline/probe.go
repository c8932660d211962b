package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
)

// Prober is a phase whose read-only probes can go out in the run's one
// probe round (remote.Prefetch) instead of a round of its own.
type Prober interface {
	// Probes returns the command lines the phase will run to probe each
	// node, by node label ("03/node2").
	Probes() (map[string][]string, error)
}

// probeRound asks every node, in one command each, what all the phases
// will probe; the phases then find their answers through u.exec. A node
// that does not answer is left to the phases, which report it.
func (u *Up) probeRound(ctx context.Context, phases []Phase) {
	probes := map[string][]string{}
	for _, p := range phases {
		pr, ok := p.(Prober)
		if !ok {
			continue
		}
		m, err := pr.Probes()
		if err != nil {
			// The phase meets the same error when it runs, and reports it.
			continue
		}
		for host, lines := range m {
			probes[host] = append(probes[host], lines...)
		}
	}
	if len(probes) == 0 {
		return
	}
	var xs []remote.Executor
	for _, c := range u.State.Clusters {
		for _, n := range c.Nodes {
			if len(probes[lab.Label(c.Index, n.Name)]) > 0 {
				xs = append(xs, u.exec(c.Index, n.Name))
			}
		}
	}
	fmt.Fprintln(u.Out, "==> probe every node (one round for all phases)")
	start := time.Now()
	// Each node gets its connection budget and a minute for its probes.
	ctx, cancel := context.WithTimeout(ctx, u.eng.Budget()+time.Minute)
	defer cancel()
	res := u.prefetch.Fetch(ctx, xs, probes, u.Lab.SSH.Parallel)
	answered := 0
	for _, r := range res {
		if r.Err == nil {
			answered++
		}
	}
	fmt.Fprintf(u.Out, "    %d of %d nodes answered\n    done in %s\n", answered, len(xs), time.Since(start).Round(time.Millisecond))
}

// exec is the executor of a node, answering probes from the probe round.
func (u *Up) exec(c int, n string) remote.Executor {
	return u.prefetch.Wrap(provision.ExecutorFor(u.eng, u.State, c, n), fmt.Sprintf("%02d", c))
}
