package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Prefetch runs the read-only probes of several phases in one round: one
// command per node instead of one per phase, which is most of what a
// re-run over a finished lab costs.
//
// Executors wrapped by Wrap answer a probe line from that round, once. An
// answer is only served while nothing else has gone to a node of the same
// group (an attendee's cluster) since the round: any other command or
// upload may change what the probes saw, so it drops the group's answers
// and the phases then probe for themselves. Probes that exited non-zero
// are not kept either, so their errors come from a real run.
//
// A node the round could not connect to is not tried again in this run:
// every later command gets the round's *DialError at once, instead of each
// phase waiting through the same retries.
type Prefetch struct {
	mu          sync.Mutex
	answers     map[string]map[string][]byte // host -> probe line -> stdout
	groupOf     map[string]string            // host -> group
	unreachable map[string]error             // host -> the round's dial error
}

// NewPrefetch returns an empty Prefetch.
func NewPrefetch() *Prefetch {
	return &Prefetch{answers: map[string]map[string][]byte{}, groupOf: map[string]string{}, unreachable: map[string]error{}}
}

// Wrap returns x answering from the round; group names x's cluster.
func (p *Prefetch) Wrap(x Executor, group string) Executor {
	p.mu.Lock()
	p.groupOf[x.Name()] = group
	p.mu.Unlock()
	return &prefetched{Executor: x, p: p}
}

// Fetch runs each executor's probe lines as one script (probes: host ->
// lines) and keeps what each printed. A node that cannot be reached keeps
// no answers: its phases reach it themselves and report the failure.
func (p *Prefetch) Fetch(ctx context.Context, xs []Executor, probes map[string][]string, parallel int) Results {
	return Each(ctx, xs, parallel, func(ctx context.Context, x Executor) error {
		lines := probes[x.Name()]
		if len(lines) == 0 {
			return nil
		}
		marker, err := newMarker()
		if err != nil {
			return err
		}
		res, err := x.Run(ctx, Command{Line: "bash -s", Stdin: strings.NewReader(probeRound(marker, lines))})
		if err != nil {
			var de *DialError
			// A round stopped by its deadline says nothing of the host.
			if errors.As(err, &de) && ctx.Err() == nil {
				p.mu.Lock()
				p.unreachable[x.Name()] = err
				p.mu.Unlock()
			}
			return err
		}
		got := parseRound(marker, lines, res.Stdout)
		p.mu.Lock()
		p.answers[x.Name()] = got
		p.mu.Unlock()
		return nil
	})
}

// probeRound is one script running each line in its own subshell, each
// output framed by marker lines that carry its exit code.
func probeRound(marker string, lines []string) string {
	var b strings.Builder
	for i, l := range lines {
		fmt.Fprintf(&b, "printf '\\n%s begin %d\\n'\n(\n%s\n) </dev/null 2>/dev/null\nprintf '\\n%s end %d %%s\\n' $?\n", marker, i, l, marker, i)
	}
	return b.String()
}

// parseRound splits the round's output back into each line's stdout,
// keeping only lines that exited 0 and were framed whole.
func parseRound(marker string, lines []string, out []byte) map[string][]byte {
	got := map[string][]byte{}
	rest := out
	for i, l := range lines {
		begin := []byte("\n" + marker + " begin " + strconv.Itoa(i) + "\n")
		_, after, ok := bytes.Cut(rest, begin)
		if !ok {
			break
		}
		// The end marker starts on a line of its own: printf adds a newline
		// in case the probe's output did not end with one.
		body, tail, ok := bytes.Cut(after, []byte("\n"+marker+" end "+strconv.Itoa(i)+" "))
		if !ok {
			break
		}
		rc, next, _ := bytes.Cut(tail, []byte("\n"))
		rest = next
		if string(rc) != "0" {
			continue
		}
		if _, dup := got[l]; !dup {
			got[l] = body
		}
	}
	return got
}

func newMarker() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "--labctl-probe-" + hex.EncodeToString(b), nil
}

// dialErr is the round's connection failure for host, if it had one.
func (p *Prefetch) dialErr(host string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unreachable[host]
}

// take serves host's answer to line once, if its group is untouched.
func (p *Prefetch) take(host, line string) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out, ok := p.answers[host][line]
	if ok {
		delete(p.answers[host], line)
	}
	return out, ok
}

// touch drops the answers of every host in host's group.
func (p *Prefetch) touch(host string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.groupOf[host]
	for h := range p.answers {
		if h == host || (g != "" && p.groupOf[h] == g) {
			delete(p.answers, h)
		}
	}
}

// prefetched is an Executor that answers probe lines from its Prefetch.
type prefetched struct {
	Executor
	p *Prefetch
}

func (x *prefetched) Run(ctx context.Context, cmd Command) (Result, error) {
	if err := x.p.dialErr(x.Name()); err != nil {
		return Result{}, err
	}
	if cmd.Stdin == nil {
		if out, ok := x.p.take(x.Name(), cmd.Line); ok {
			return Result{Stdout: out}, nil
		}
	}
	x.p.touch(x.Name())
	return x.Executor.Run(ctx, cmd)
}

func (x *prefetched) Upload(ctx context.Context, r io.Reader, path string, mode os.FileMode) error {
	if err := x.p.dialErr(x.Name()); err != nil {
		return err
	}
	x.p.touch(x.Name())
	return x.Executor.Upload(ctx, r, path, mode)
}

func (x *prefetched) Tunnel(ctx context.Context, network, addr string) (net.Conn, error) {
	if err := x.p.dialErr(x.Name()); err != nil {
		return nil, err
	}
	x.p.touch(x.Name())
	return x.Executor.Tunnel(ctx, network, addr)
}
