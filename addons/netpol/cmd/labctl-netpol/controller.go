package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// table is what the controller needs from Applier; tests fake it.
type table interface {
	Apply(Ruleset) error
	Remove() error
}

type controller struct {
	node   string
	watch  *watches
	table  table
	log    *slog.Logger
	config config

	changed chan struct{}
	applied string // the last ruleset installed, as rendered
}

type config struct {
	// debounce is how long a burst of changes (a Deployment scaling up)
	// is gathered before one recompute.
	debounce time.Duration
	// resync re-applies even without a change, which repairs a table that
	// something else deleted or flushed.
	resync time.Duration
	// retries and backoff bound how long apply failures are retried before
	// the process exits and lets the kubelet restart it.
	retries int
	backoff time.Duration
	// readyFile exists while the installed table matches the cluster.
	readyFile string
	// removeOnExit deletes the table on SIGTERM, so that removing the
	// add-on does not leave its last rules behind forever.
	removeOnExit bool
}

func newController(node string, w *watches, t table, log *slog.Logger, cfg config) (*controller, error) {
	c := &controller{node: node, watch: w, table: t, log: log, config: cfg, changed: make(chan struct{}, 1)}
	if err := w.onChange(c.notify); err != nil {
		return nil, err
	}
	return c, nil
}

// notify never blocks: one pending signal stands for any number of changes.
func (c *controller) notify() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// run enforces until ctx ends; it returns an error only when the table could
// not be installed after retrying.
func (c *controller) run(ctx context.Context) error {
	c.clearReady()
	// Until the caches are full, the previous table (from before a restart)
	// stays: an empty cache would open every pod.
	if err := c.watch.start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	c.log.Info("caches synced", "node", c.node)
	if err := c.sync(ctx, true); err != nil {
		return err
	}
	resync := time.NewTicker(c.config.resync)
	defer resync.Stop()
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return c.stop()
		case <-c.changed:
			if debounce == nil {
				debounce = time.After(c.config.debounce)
			}
		case <-debounce:
			debounce = nil
			if err := c.sync(ctx, false); err != nil {
				return err
			}
		case <-resync.C:
			if err := c.sync(ctx, true); err != nil {
				return err
			}
		}
	}
}

func (c *controller) stop() error {
	c.clearReady()
	if !c.config.removeOnExit {
		c.log.Info("stopping, table left in place")
		return nil
	}
	if err := c.table.Remove(); err != nil {
		return fmt.Errorf("on exit: %w", err)
	}
	c.log.Info("stopping, table removed")
	return nil
}

// sync recomputes the ruleset and installs it when it changed (or always,
// when force), retrying failures with a doubling backoff.
func (c *controller) sync(ctx context.Context, force bool) error {
	pods, namespaces, policies := c.watch.snapshot()
	rs := Compile(c.node, pods, namespaces, policies)
	text := rs.String()
	if text == c.applied && !force {
		return nil
	}
	var err error
	wait := c.config.backoff
	for attempt := 1; attempt <= c.config.retries; attempt++ {
		if err = c.table.Apply(rs); err == nil {
			break
		}
		c.clearReady()
		c.log.Error("apply failed", "attempt", attempt, "err", err)
		if attempt == c.config.retries {
			return fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait *= 2
	}
	if text != c.applied {
		c.log.Info("applied", "table", "inet "+TableName, "isolated", summary(rs), "problems", rs.Problems)
		for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
			if line != "" {
				c.log.Debug("rule", "line", line)
			}
		}
	}
	c.applied = text
	c.markReady()
	return nil
}

// summary names the isolated pods and how, for the log line.
func summary(rs Ruleset) []string {
	var out []string
	for _, p := range rs.Pods {
		var dirs []string
		if p.Ingress != nil {
			dirs = append(dirs, fmt.Sprintf("ingress:%d", len(p.Ingress.Allow)))
		}
		if p.Egress != nil {
			dirs = append(dirs, fmt.Sprintf("egress:%d", len(p.Egress.Allow)))
		}
		out = append(out, p.Namespace+"/"+p.Name+"("+strings.Join(dirs, ",")+")")
	}
	return out
}

func (c *controller) markReady() {
	if c.config.readyFile == "" {
		return
	}
	if err := os.WriteFile(c.config.readyFile, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		c.log.Warn("cannot write the ready file", "err", err)
	}
}

func (c *controller) clearReady() {
	if c.config.readyFile == "" {
		return
	}
	if err := os.Remove(c.config.readyFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		c.log.Warn("cannot remove the ready file", "err", err)
	}
}
