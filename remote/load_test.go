package remote_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/internal/testenv"
	"github.com/labctl/labctl/remote"
)

// A server slower than the first attempt's patience every time: the next
// attempts are given longer, and the host is reached.
func TestSlowHandshakeGetsLongerAttempts(t *testing.T) {
	r := newRig(t)
	r.srv.DelayHandshakes(1000, 450*time.Millisecond)
	e := r.engine(t, func(c *remote.Config) { c.DialTimeout = 300 * time.Millisecond; c.RetryWindow = 5 * time.Second })
	res, err := e.Host(hostOf(r.srv, r.srv.HostKey)).Run(context.Background(), remote.Command{Line: "echo up"})
	if err != nil || string(res.Stdout) != "up\n" {
		t.Fatalf("a host slower than one attempt's timeout must be reached by a longer one: %q %v", res.Stdout, err)
	}
}

// A server whose first handshakes stall (a busy machine) is reached
// within a budget that grows with the number of hosts driven, even when
// the stalls outlast the retry window of a lone host.
func TestBudgetGrowsWithFanOut(t *testing.T) {
	r := newRig(t)
	r.srv.DelayHandshakes(3, time.Hour)
	e := r.engine(t, func(c *remote.Config) {
		c.DialTimeout = 300 * time.Millisecond
		c.RetryWindow = time.Second
		c.Hosts = 40 // 1 s + 40 × 150 ms
	})
	if got, want := e.Budget(), 7*time.Second; got != want {
		t.Fatalf("budget at 40 hosts: %s, want %s", got, want)
	}
	if _, err := e.Host(hostOf(r.srv, r.srv.HostKey)).Run(context.Background(), remote.Command{Line: "true"}); err != nil {
		t.Fatalf("stalled handshakes within the budget must be retried: %v", err)
	}
	if n := r.srv.Conns.Load(); n != 4 {
		t.Fatalf("want 3 stalled attempts and one that went through, got %d connections", n)
	}
}

// A login that went through but whose first session stalls is dialled
// again: no command was asked for yet.
func TestStalledFirstSessionRetried(t *testing.T) {
	r := newRig(t)
	r.srv.DelaySessions(1, time.Hour)
	e := r.engine(t, func(c *remote.Config) { c.DialTimeout = 500 * time.Millisecond; c.RetryWindow = 5 * time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := e.Host(hostOf(r.srv, r.srv.HostKey)).Run(ctx, remote.Command{Line: "echo once"})
	if err != nil || string(res.Stdout) != "once\n" {
		t.Fatalf("a stalled first session must be retried on a new connection: %q %v", res.Stdout, err)
	}
	if n, x := r.srv.Conns.Load(), r.srv.Execs.Load(); n != 2 || x != 1 {
		t.Fatalf("want 2 connections and 1 command run, got %d and %d", n, x)
	}
}

// A host is reported unreachable only once its budget is spent (or, for
// a refused login, the auth window), naming what failed.
func TestUnreachableNamesWhatFailed(t *testing.T) {
	r := newRig(t)
	refused := freePort(t)
	silent := silentListener(t)
	stalledSession := testenv.StartSSHServer(t, "127.0.0.1:0", r.key.PublicKey())
	stalledSession.DelaySessions(1000, time.Hour)
	const budget = 2 * time.Second
	cases := []struct {
		name, stage, says string
		host              remote.Host
		signers           bool // a key the server does not know
		least             time.Duration
	}{
		{"refused", remote.StageTCP, "connection refused", remote.Host{Name: "01/node1", Address: "127.0.0.1", Port: refused}, false, budget - time.Second},
		{"stalled handshake", remote.StageHandshake, "timeout", remote.Host{Name: "01/node2", Address: "127.0.0.1", Port: silent}, false, budget - time.Second},
		{"bad key", remote.StageAuth, "unable to authenticate", hostOf(r.srv, r.srv.HostKey), true, 0},
		{"stalled session", remote.StageCommand, "opening a session", hostOf(stalledSession, stalledSession.HostKey), false, budget - time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := r.engine(t, func(cfg *remote.Config) {
				cfg.DialTimeout = 300 * time.Millisecond
				cfg.Budget = budget
				cfg.AuthRetryWindow = 500 * time.Millisecond
				if c.signers {
					cfg.Signers = append(cfg.Signers[:0:0], testenv.NewSigner(t))
				}
			})
			start := time.Now()
			_, err := e.Host(c.host).Run(context.Background(), remote.Command{Line: "true"})
			took := time.Since(start)
			var de *remote.DialError
			if !errors.As(err, &de) {
				t.Fatalf("want a DialError, got %v", err)
			}
			if de.Stage != c.stage || !strings.Contains(err.Error(), "("+c.stage+")") || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), c.host.Name) {
				t.Fatalf("want stage %s, %q and the host named, got stage %q: %v", c.stage, c.says, de.Stage, err)
			}
			if took < c.least || took > budget+2*time.Second {
				t.Fatalf("reported after %s; budget %s", took, budget)
			}
			if c.least > 0 && de.Attempts < 2 {
				t.Fatalf("want retries before giving up, got %d attempts", de.Attempts)
			}
		})
	}
}

// 200 hosts driven 200 at once never open 200 handshakes at once.
func TestHandshakesInFlightBounded(t *testing.T) {
	r := newRig(t)
	var g testenv.Gauge
	var xs []remote.Executor
	e := r.engine(t, func(c *remote.Config) { c.Hosts = 200 })
	for i := 0; i < 200; i++ {
		s := testenv.StartSSHServer(t, "127.0.0.1:0", r.key.PublicKey())
		s.CountHandshakes(&g)
		s.DelayHandshakes(1, 100*time.Millisecond) // every handshake takes a while
		h := hostOf(s, s.HostKey)
		h.Name = fmt.Sprintf("%02d/node1", i+1)
		xs = append(xs, e.Host(h))
	}
	res := remote.Each(context.Background(), xs, 200, func(ctx context.Context, x remote.Executor) error {
		_, err := x.Run(ctx, remote.Command{Line: "true"})
		return err
	})
	if err := res.Err(); err != nil {
		t.Fatal(err)
	}
	_, peak := e.HandshakeStats()
	if p := g.Peak(); p > remote.DefaultHandshakes || p < 4 || int(p) > peak {
		t.Fatalf("%d handshakes at once on the servers (engine's peak %d), want 4 to %d", p, peak, remote.DefaultHandshakes)
	}
}

// freePort is a loopback port nothing listens on.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// silentListener accepts TCP and never says a word.
func silentListener(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// A command's timeout from its turn does not run while the host waits
// for a handshake slot behind another host.
func TestTimeoutFromTurn(t *testing.T) {
	r := newRig(t)
	slow := testenv.StartSSHServer(t, "127.0.0.1:0", r.key.PublicKey())
	slow.DelayHandshakes(1, 3*time.Second)
	e := r.engine(t, func(c *remote.Config) {
		c.Handshakes = 1
		c.DialTimeout = 5 * time.Second
		c.RetryWindow = 10 * time.Second
	})
	first := make(chan error, 1)
	go func() {
		_, err := e.Host(hostOf(slow, slow.HostKey)).Run(context.Background(), remote.Command{Line: "true"})
		first <- err
	}()
	for slow.Conns.Load() == 0 { // the slow host holds the only slot
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := remote.TimeoutFromTurn(context.Background(), 2*time.Second, 20*time.Second)
	defer cancel()
	h := hostOf(r.srv, r.srv.HostKey)
	h.Name = "02/node1"
	start := time.Now()
	if _, err := e.Host(h).Run(ctx, remote.Command{Line: "true"}); err != nil {
		t.Fatalf("a host waiting its turn timed out: %v", err)
	}
	if took := time.Since(start); took < 2500*time.Millisecond {
		t.Fatalf("the second host did not wait for the slot (%s): the test proves nothing", took)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// Once its turn came, the timeout runs.
	ctx2, cancel2 := remote.TimeoutFromTurn(context.Background(), 300*time.Millisecond, 10*time.Second)
	defer cancel2()
	if _, err := e.Host(h).Run(ctx2, remote.Command{Line: "sleep 5"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the turn's timeout, got %v", err)
	}
}
