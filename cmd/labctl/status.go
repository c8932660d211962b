package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/labctl/labctl/lab"
	lp "github.com/labctl/labctl/provision/pulumi"
	"github.com/labctl/labctl/remote"
	"github.com/labctl/labctl/status"
)

func newStatusCmd(a *app) *cobra.Command {
	var (
		watch bool
		r     refresh
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show one row per attendee cluster: nodes reachable and Ready, add-ons, DockerCoins, last phase",
		Long: `Probe every node in parallel (each within --timeout) and show one row per
attendee cluster. A node that does not answer in time is asked once more,
with the other late ones and twice the time (a busy machine can be slower
than the timeout with hundreds of handshakes at once); if it still does not
answer it shows as unreachable. --json prints the rows
for scripts, without secrets. --watch redraws every --interval until Ctrl-C.

In a lab with spares, a row is an attendee and the cluster behind it
("01 → 03": attendee 01 on cluster 03, after labctl swap), then the spares
("spare → 02"), a spare that waits for labctl reset saying so.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := r.check(); err != nil {
				return err
			}
			l, s, err := a.readState()
			if err != nil {
				return err
			}
			e, err := a.engine(l, s)
			if err != nil {
				return err
			}
			defer e.Close()
			opts := status.Options{Timeout: r.timeout, Parallel: l.SSH.Parallel, Health: true}
			frame := func(ctx context.Context) ([]byte, error) {
				// Re-read the state so a watch follows a `labctl up` running
				// beside it; keep the last good one if a read fails.
				if watch {
					if _, fresh, err := a.readState(); err == nil {
						s = fresh
					}
				}
				cur := s
				rows := status.Probe(ctx, cur, executors(e, cur), opts)
				out, err := statusFrame(a.jsonOut, watch, l, endAt(l, cur), lp.StatusLine(l, cur, time.Now()), rows, r.interval)
				return a.hideSecrets(out, l, cur), err
			}
			if !watch {
				out, err := frame(cmd.Context())
				if err != nil {
					return err
				}
				_, err = a.out.Write(out)
				return err
			}
			return status.Watch(cmd.Context(), a.out, r.interval, isTerminal(a.out) && !a.jsonOut, frame)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&watch, "watch", "w", false, "redraw every --interval until Ctrl-C")
	r.flags(f, 5*time.Second, status.DefaultTimeout, "time between two redraws with --watch", "how long each node has to answer")
	return cmd
}

// costLine is the machine hours and their cost so far ("" but on AWS).
func statusFrame(jsonOut, watch bool, l *lab.Lab, endsAt *time.Time, costLine string, rows []status.Row, interval time.Duration) ([]byte, error) {
	var b bytes.Buffer
	if jsonOut {
		err := status.WriteJSON(&b, rows)
		return b.Bytes(), err
	}
	if watch {
		fmt.Fprintf(&b, "labctl status: %s, %s, every %s (Ctrl-C to stop)\n\n", l.Name, time.Now().Format("15:04:05"), interval)
	}
	if line := status.EndLine(endsAt, time.Now()); line != "" {
		fmt.Fprintln(&b, line)
	}
	if costLine != "" {
		fmt.Fprintln(&b, costLine)
	}
	err := status.Render(&b, rows, time.Now())
	return b.Bytes(), err
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// hideSecrets redacts the lab's passwords and keys from output (an error
// a node printed may quote one), unless --show-secrets.
func (a *app) hideSecrets(out []byte, l *lab.Lab, s *lab.State) []byte {
	if a.showSecrets {
		return out
	}
	return []byte(remote.Redact(string(out), s.Secrets(), []string{l.SSH.Password}))
}

// endAt is the class's end: the lab file's, else the one up recorded.
func endAt(l *lab.Lab, s *lab.State) *time.Time {
	if end, ok := l.End(); ok {
		return &end
	}
	return s.EndsAt
}
