package remote

import (
	"context"
	"sync"
	"time"
)

type turnKey struct{}

// turn is a timeout that starts when its host's turn comes.
type turn struct {
	d      time.Duration
	cancel context.CancelCauseFunc
	once   sync.Once
	mu     sync.Mutex
	timer  *time.Timer
	done   bool
}

// TimeoutFromTurn is context.WithTimeout(parent, d) for a command on one
// host whose clock starts with the host's turn: when the engine starts
// connecting to it (after it waited for a handshake slot behind the
// other hosts of the fan-out) or finds it connected already. A host
// waiting its turn on a busy machine is not a host that does not answer.
// limit bounds the whole, turn or not (an executor that never takes its
// turn, such as a test's).
func TimeoutFromTurn(parent context.Context, d, limit time.Duration) (context.Context, context.CancelFunc) {
	outer, cancelOuter := context.WithTimeout(parent, limit)
	ctx, cancel := context.WithCancelCause(outer)
	t := &turn{d: d, cancel: cancel}
	return context.WithValue(ctx, turnKey{}, t), func() {
		t.mu.Lock()
		t.done = true
		if t.timer != nil {
			t.timer.Stop()
		}
		t.mu.Unlock()
		cancel(context.Canceled)
		cancelOuter()
	}
}

// startTurn starts ctx's turn timeout, if it has one not started yet.
func startTurn(ctx context.Context) {
	t, ok := ctx.Value(turnKey{}).(*turn)
	if !ok {
		return
	}
	t.once.Do(func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if !t.done {
			t.timer = time.AfterFunc(t.d, func() { t.cancel(context.DeadlineExceeded) })
		}
	})
}
