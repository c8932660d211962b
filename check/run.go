package check

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// DefaultTimeout bounds one cluster's round of checks.
const DefaultTimeout = 20 * time.Second

// Target is one attendee cluster: Open returns what its checks read
// through (a connection opened once and reused is the caller's choice).
type Target struct {
	Cluster int
	Open    func(ctx context.Context) (Env, error)
	// Attendee is who the cluster serves in a lab with spares (0 without:
	// attendee N is cluster N).
	Attendee int
}

// Row is one cluster's results, in the order of the chapters' checks.
type Row struct {
	Cluster int `json:"cluster"`
	// Attendee is who the cluster serves, in a lab with spares.
	Attendee int `json:"attendee,omitempty"`
	// Error says why the cluster could not be checked (unreachable, timed out).
	Error   string   `json:"error,omitempty"`
	Results []Result `json:"results,omitempty"`
	// Done lists the chapters all of whose checks passed.
	Done []string `json:"done"`
}

// Result of chapter ch, check id, or nil.
func (r *Row) Result(ch, id string) *Result {
	for i := range r.Results {
		if r.Results[i].Chapter == ch && r.Results[i].ID == id {
			return &r.Results[i]
		}
	}
	return nil
}

// Run evaluates chapters on every target, at most parallel clusters at
// once, each within timeout: a cluster that hangs becomes a row that
// says so and holds no other row.
func Run(ctx context.Context, targets []Target, chapters []Chapter, parallel int, timeout time.Duration) []Row {
	if parallel <= 0 {
		parallel = 50
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	rows := make([]Row, len(targets))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, t := range targets {
		rows[i].Cluster = t.Cluster
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			rows[i] = runOne(ctx, t, chapters, timeout)
			rows[i].Attendee = t.Attendee
		})
	}
	wg.Wait()
	return rows
}

func runOne(ctx context.Context, t Target, chapters []Chapter, timeout time.Duration) Row {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	row := Row{Cluster: t.Cluster, Done: []string{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		env, err := t.Open(ctx)
		if err != nil {
			row.Error = oneLine(err.Error())
			return
		}
		var res []Result
		var doneCh []string
		for _, ch := range chapters {
			all := true
			for _, k := range ch.Checks {
				r := Eval(ctx, env, k)
				r.Chapter = ch.ID
				all = all && r.OK
				res = append(res, r)
			}
			if all {
				doneCh = append(doneCh, ch.ID)
			}
		}
		if ctx.Err() != nil {
			row.Error = fmt.Sprintf("timed out after %s", timeout)
			return
		}
		row.Results, row.Done = res, append(row.Done, doneCh...)
	}()
	select {
	case <-done:
		return row
	case <-ctx.Done():
		// Whatever is stuck (a dial, a read) is cancelled by ctx; the row
		// does not wait for it.
		return Row{Cluster: t.Cluster, Error: fmt.Sprintf("timed out after %s", timeout), Done: []string{}}
	}
}
