package remote

import (
	"context"
	"errors"
	"time"
)

// RetryPause is the pause before retrying work whose connection was lost:
// longer than a lost command's watchdog takes to stop it (about a
// second), so that two attempts never run at once on the host.
var RetryPause = 2 * time.Second

// RetryLost runs attempt, and runs it again while it fails with
// ErrConnectionLost, up to attempts times in all; the engine redials in
// between. Only idempotent work may be retried this way: the lost attempt
// may have run in part. A command that failed (an *ExitError), any other
// error, or the end of ctx is returned at once. retrying, when set, hears
// of each retry before it starts (n is the attempt about to run).
func RetryLost(ctx context.Context, attempts int, retrying func(n int, err error), attempt func(context.Context) error) error {
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil || !errors.Is(err, ErrConnectionLost) || n >= attempts || ctx.Err() != nil {
			return err
		}
		if retrying != nil {
			retrying(n+1, err)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(RetryPause):
		}
	}
}
