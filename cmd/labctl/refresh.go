package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/labctl/labctl/lab"
	"github.com/labctl/labctl/provision"
	"github.com/labctl/labctl/remote"
)

// refresh is --interval and --timeout of the commands that look at the
// clusters again and again (status --watch, board).
type refresh struct {
	interval, timeout time.Duration
}

func (r *refresh) flags(f *pflag.FlagSet, interval, timeout time.Duration, intervalUsage, timeoutUsage string) {
	f.DurationVar(&r.interval, "interval", interval, intervalUsage)
	f.DurationVar(&r.timeout, "timeout", timeout, timeoutUsage)
}

// check refuses a timeout that is not positive or above 10 minutes, and
// an interval under a second or above an hour.
func (r refresh) check() error {
	if r.timeout <= 0 {
		return badInput("--timeout: must be positive")
	}
	if err := checkDuration("--timeout", r.timeout, 10*time.Minute); err != nil {
		return err
	}
	if r.interval < time.Second {
		return badInput("--interval: must be at least 1s")
	}
	return checkDuration("--interval", r.interval, time.Hour)
}

// executors reaches a node of s through e, by cluster and node name.
func executors(e *remote.Engine, s *lab.State) func(cluster int, node string) remote.Executor {
	return func(cluster int, node string) remote.Executor {
		return provision.ExecutorFor(e, s, cluster, node)
	}
}
