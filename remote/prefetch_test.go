package remote

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
)

// localShell runs commands in a real local bash, counting them.
type localShell struct {
	Fake
	mu    sync.Mutex
	lines []string
}

func (l *localShell) Run(ctx context.Context, cmd Command) (Result, error) {
	l.mu.Lock()
	l.lines = append(l.lines, cmd.Line)
	l.mu.Unlock()
	c := exec.CommandContext(ctx, "bash", "-c", cmd.Line)
	if cmd.Stdin != nil {
		c.Stdin = cmd.Stdin
	}
	var so, se strings.Builder
	c.Stdout, c.Stderr = &so, &se
	err := c.Run()
	res := Result{Stdout: []byte(so.String()), Stderr: []byte(se.String())}
	if ee, ok := err.(*exec.ExitError); ok {
		res.ExitCode = ee.ExitCode()
		return res, &ExitError{Host: l.Host, Line: cmd.Line, ExitCode: res.ExitCode, Output: so.String() + se.String()}
	}
	return res, err
}

func (l *localShell) Upload(ctx context.Context, r io.Reader, path string, mode os.FileMode) error {
	l.mu.Lock()
	l.lines = append(l.lines, "upload "+path)
	l.mu.Unlock()
	_, err := io.Copy(io.Discard, r)
	return err
}

func (l *localShell) ran() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func newShell(host string) *localShell {
	return &localShell{Fake: Fake{Host: host}}
}

// Awkward probes: no trailing newline, a trailing comment, an exit in the
// middle, a reader of stdin, a failure, and output that looks like a frame.
var probes = []string{
	"printf 'no newline'",
	"echo one; echo two # a comment",
	"echo before; exit 0; echo after",
	"cat; echo read-nothing",
	"echo partial; false",
	"echo '--labctl-probe-0000 end 0 0'; echo still-mine",
	"printf 'a\\n\\n'",
}

func TestPrefetchAnswersEachProbeOnceAsARealRunWould(t *testing.T) {
	ctx := context.Background()
	sh := newShell("01/node1")
	p := NewPrefetch()
	x := p.Wrap(sh, "01")
	if err := p.Fetch(ctx, []Executor{x}, map[string][]string{"01/node1": probes}, 4).Err(); err != nil {
		t.Fatal(err)
	}
	if got := sh.ran(); len(got) != 1 || got[0] != "bash -s" {
		t.Fatalf("the round ran %q, want one bash -s", got)
	}
	// The failing probe last: a command that goes to the node for real
	// drops the answers left.
	failing := "echo partial; false"
	for _, line := range append(slices.DeleteFunc(slices.Clone(probes), func(l string) bool { return l == failing }), failing) {
		want, werr := newShell("direct").Run(ctx, Command{Line: line})
		got, err := x.Run(ctx, Command{Line: line})
		if (err == nil) != (werr == nil) || string(got.Stdout) != string(want.Stdout) {
			t.Errorf("%q: prefetched %q (err %v), a real run gives %q (err %v)", line, got.Stdout, err, want.Stdout, werr)
		}
	}
	if got := sh.ran(); len(got) != 2 || got[1] != failing {
		t.Errorf("want the round and the failing probe to reach the node, got %q", got)
	}
	// Served once: asking again runs it.
	x.Run(ctx, Command{Line: probes[0]})
	if got := len(sh.ran()); got != 3 {
		t.Errorf("a second ask was answered from the round: %q", sh.ran())
	}
}

func TestPrefetchDroppedWhenTheGroupChanges(t *testing.T) {
	ctx := context.Background()
	n1, n2, other := newShell("01/node1"), newShell("01/node2"), newShell("02/node1")
	p := NewPrefetch()
	x1, x2, xo := p.Wrap(n1, "01"), p.Wrap(n2, "01"), p.Wrap(other, "02")
	probe := map[string][]string{"01/node1": {"echo n1"}, "01/node2": {"echo n2"}, "02/node1": {"echo o"}}
	if err := p.Fetch(ctx, []Executor{x1, x2, xo}, probe, 3).Err(); err != nil {
		t.Fatal(err)
	}
	// Work on node2 may change what node1's probe saw: both drop theirs.
	if err := x2.Upload(ctx, strings.NewReader("x"), "/tmp/f", 0o644); err != nil {
		t.Fatal(err)
	}
	x1.Run(ctx, Command{Line: "echo n1"})
	if got := n1.ran(); len(got) != 2 {
		t.Errorf("node1 answered from the round after its cluster changed: %q", got)
	}
	// Another cluster keeps its answer.
	xo.Run(ctx, Command{Line: "echo o"})
	if got := other.ran(); len(got) != 1 {
		t.Errorf("cluster 02 lost its answer: %q", got)
	}
	// A command with stdin is never answered from the round.
	res, err := x2.Run(ctx, Command{Line: "cat", Stdin: strings.NewReader("in")})
	if err != nil || string(res.Stdout) != "in" {
		t.Errorf("stdin command: %q %v", res.Stdout, err)
	}
}

func TestPrefetchUnreachableNodeIsNotDialledAgain(t *testing.T) {
	ctx := context.Background()
	dial := &DialError{Host: "01/node2", Addr: "10.0.0.2:22", Attempts: 6, Err: io.ErrUnexpectedEOF}
	down := NewFake("01/node2").OnError("", dial)
	lost := NewFake("01/node3").OnError("", io.ErrUnexpectedEOF) // answered, then the session broke
	p := NewPrefetch()
	xd, xl := p.Wrap(down, "01"), p.Wrap(lost, "01")
	res := p.Fetch(ctx, []Executor{xd, xl}, map[string][]string{"01/node2": {"true"}, "01/node3": {"true"}}, 2)
	if res.Err() == nil {
		t.Fatal("Fetch hid an unreachable node")
	}
	for _, call := range []func() error{
		func() error { _, err := xd.Run(ctx, Command{Line: "true"}); return err },
		func() error { return xd.Upload(ctx, strings.NewReader("x"), "/tmp/f", 0o644) },
		func() error { _, err := xd.Tunnel(ctx, "tcp", "127.0.0.1:6443"); return err },
	} {
		var de *DialError
		if err := call(); !errors.As(err, &de) || de.Attempts != 6 {
			t.Errorf("got %v, want the round's dial error", err)
		}
	}
	if n := len(down.Calls()); n != 1 {
		t.Errorf("the unreachable node was dialled %d times, want once (the round)", n)
	}
	// Any other failure is not remembered: the phase tries for itself.
	xl.Run(ctx, Command{Line: "true"})
	if n := len(lost.Calls()); n != 2 {
		t.Errorf("node3 got %d commands, want 2", n)
	}
}

func TestParseRoundStopsAtATruncatedFrame(t *testing.T) {
	m := "--labctl-probe-x"
	out := "\n" + m + " begin 0\nok\n\n" + m + " end 0 0\n\n" + m + " begin 1\nhalf"
	got := parseRound(m, []string{"a", "b"}, []byte(out))
	if string(got["a"]) != "ok\n" {
		t.Errorf("a: %q", got["a"])
	}
	if _, ok := got["b"]; ok {
		t.Error("a probe cut short was kept")
	}
}

func TestExitErrorShowsAScriptByItsFirstLine(t *testing.T) {
	e := &ExitError{Host: "01/node1", Line: "d=/var/lib/labctl/steps\nprintf a\nprintf b\n", ExitCode: 2}
	if got, want := e.Error(), `01/node1: "d=/var/lib/labctl/steps ... (2 more lines)" exited 2`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
