package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestEachBoundsParallelismAndKeepsGoing(t *testing.T) {
	var xs []Executor
	for i := 0; i < 20; i++ {
		xs = append(xs, NewFake(fmt.Sprintf("%02d/node1", i)))
	}
	var now, peak atomic.Int64
	boom := errors.New("boom")
	res := Each(context.Background(), xs, 4, func(ctx context.Context, x Executor) error {
		n := now.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		now.Add(-1)
		if x.Name() == "03/node1" || x.Name() == "07/node1" {
			return &ExitError{Host: x.Name(), Line: "x", ExitCode: 1}
		}
		if x.Name() == "05/node1" {
			return fmt.Errorf("%s: %w", x.Name(), boom)
		}
		return nil
	})
	if peak.Load() > 4 || peak.Load() < 2 {
		t.Fatalf("peak parallelism %d, want between 2 and 4", peak.Load())
	}
	if len(res) != 20 || res.Failed() != 3 || res[3].Err == nil || res[4].Err != nil || res[3].Host != "03/node1" {
		t.Fatalf("per-host results wrong: %+v", res)
	}
	err := res.Err()
	var ee *ExitError
	if !errors.Is(err, boom) || !errors.As(err, &ee) {
		t.Fatalf("aggregate error must keep errors.Is/As: %v", err)
	}
}

func TestEachCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := Each(ctx, []Executor{NewFake("a"), NewFake("b")}, 1, func(ctx context.Context, x Executor) error {
		return ctx.Err()
	})
	if res.Failed() != 2 {
		t.Fatalf("a cancelled fan-out must fail every host: %+v", res)
	}
}

func TestClassify(t *testing.T) {
	opErr := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: &net.OpError{Err: errno}}
	}
	cases := []struct {
		name string
		err  error
		want failure
	}{
		{"refused", opErr(syscall.ECONNREFUSED), transient},
		{"unreachable", opErr(syscall.EHOSTUNREACH), transient},
		{"reset", opErr(syscall.ECONNRESET), transient},
		{"deadline", context.DeadlineExceeded, transient},
		{"handshake EOF", fmt.Errorf("ssh: handshake failed: %w", io.EOF), transient},
		{"auth not ready", errors.New("ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey]"), authWait},
		{"host key mismatch", fmt.Errorf("ssh: handshake failed: %w", &HostKeyError{Host: "h"}), final},
		{"no such host", &net.DNSError{Err: "no such host", Name: "nope", IsNotFound: true}, final},
		{"bad key", errors.New("ssh: no key found"), final},
	}
	for _, c := range cases {
		if got := classify(c.err); got != c.want {
			t.Errorf("%s: classify = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	if backoff(1) != 250*time.Millisecond || backoff(2) != 500*time.Millisecond || backoff(10) != 4*time.Second {
		t.Fatalf("backoff: %s %s %s", backoff(1), backoff(2), backoff(10))
	}
}

func TestFakeScripted(t *testing.T) {
	f := NewFake("01/node1").On(`^kubectl get nodes`, "node1 Ready\n", 0).On(`^false`, "", 1)
	res, err := f.Run(context.Background(), Command{Line: "kubectl get nodes -o name"})
	if err != nil || string(res.Stdout) != "node1 Ready\n" {
		t.Fatal(res, err)
	}
	if _, err := f.Run(context.Background(), Command{Line: "false"}); err == nil {
		t.Fatal("want exit error")
	}
	if _, err := f.Run(context.Background(), Command{Line: "rm -rf /"}); err == nil {
		t.Fatal("unscripted commands must fail")
	}
	if len(f.Calls()) != 3 {
		t.Fatalf("calls: %v", f.Calls())
	}
}
