package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/remote"
)

func newExecCmd(a *app) *cobra.Command {
	var clusters []int
	var node string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "exec [--cluster N] [--node nodeX] -- COMMAND",
		Short: "Run a command on nodes in parallel, output prefixed by cluster and node",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, s, err := a.readState()
			if err != nil {
				return err
			}
			for _, c := range clusters {
				if s.Cluster(c) == nil {
					return badInput("--cluster: lab %s has no cluster %d", l.Name, c)
				}
			}
			if node != "" && (len(s.Clusters) == 0 || s.Clusters[0].Node(node) == nil) {
				return badInput("--node: lab %s has no node %q", l.Name, node)
			}
			eng, flush, err := a.engineWithFlush(l, s)
			if err != nil {
				return err
			}
			defer eng.Close()
			defer flush()
			hosts := allHosts(eng, s, clusters, node)
			line := strings.Join(args, " ")
			var outMu sync.Mutex
			res := remote.Each(cmd.Context(), hosts, l.SSH.Parallel, func(ctx context.Context, x remote.Executor) error {
				if timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, timeout)
					defer cancel()
				}
				prefix := "[" + x.Name() + "] "
				stdout := &prefixWriter{mu: &outMu, w: a.out, prefix: prefix}
				stderr := &prefixWriter{mu: &outMu, w: a.errOut, prefix: prefix}
				_, err := x.Run(ctx, remote.Command{Line: line, Stdout: stdout, Stderr: stderr})
				stdout.Flush()
				stderr.Flush()
				return err
			})
			printSummary(a.out, res)
			if n := res.Failed(); n > 0 {
				// The summary above says which and why.
				return fmt.Errorf("%d of %d hosts failed", n, len(res))
			}
			return nil
		},
	}
	cmd.Flags().IntSliceVar(&clusters, "cluster", nil, "cluster numbers (default all)")
	cmd.Flags().StringVar(&node, "node", "", "node name, e.g. node1 (default all)")
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "stop the command on a host after this long")
	return cmd
}

// printSummary prints one line per host: ok, or failed with the reason.
func printSummary(w io.Writer, res remote.Results) {
	fmt.Fprintf(w, "---- %d ok, %d failed\n", len(res)-res.Failed(), res.Failed())
	for _, r := range res {
		if r.Err == nil {
			fmt.Fprintf(w, "%-10s ok      %s\n", r.Host, r.Duration.Round(time.Millisecond))
			continue
		}
		var ee *remote.ExitError
		reason := r.Err.Error()
		if errors.As(r.Err, &ee) {
			reason = fmt.Sprintf("exit %d", ee.ExitCode)
		}
		fmt.Fprintf(w, "%-10s FAILED  %s\n", r.Host, strings.TrimPrefix(reason, r.Host+": "))
	}
}

// prefixWriter writes whole lines, each behind prefix, so the output of
// hosts running at once never interleaves within a line.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    bytes.Buffer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf.Write(b)
	for {
		i := bytes.IndexByte(p.buf.Bytes(), '\n')
		if i < 0 {
			return len(b), nil
		}
		line := p.buf.Next(i + 1)
		p.mu.Lock()
		_, err := fmt.Fprintf(p.w, "%s%s", p.prefix, line)
		p.mu.Unlock()
		if err != nil {
			return len(b), err
		}
	}
}

// Flush writes a last line that had no newline.
func (p *prefixWriter) Flush() {
	if p.buf.Len() == 0 {
		return
	}
	p.mu.Lock()
	fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf.Bytes())
	p.mu.Unlock()
	p.buf.Reset()
}
