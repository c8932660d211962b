package status

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/labctl/labctl/remote"
)

// maxNotes keeps a row on one line of a terminal; --json has it all.
const maxNotes = 110

// Render writes the rows as a table. now dates the phases ("3m ago").
// In a lab with spares, a row is an attendee and the cluster behind
// ("attendee 01 → cluster 03"), the attendees first, then the spares.
func Render(w io.Writer, rows []Row, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	seated := Seated(rows)
	head := "CLUSTER"
	if seated {
		rows = SeatOrder(rows)
		head = "ATTENDEE → CLUSTER"
	}
	fmt.Fprintln(tw, head+"\tREACHABLE\tREADY\tHEALTH\tADDONS\tCOINS\tSESSIONS\tLAST PHASE\tNOTES")
	for _, r := range rows {
		reach, notes := fmt.Sprintf("%d/%d", r.Reachable, r.Total), Notes(r)
		if r.NeedsReset != "" {
			notes = strings.TrimSuffix("needs reset: "+r.NeedsReset+"; "+notes, "; ")
		}
		if r.Power != nil && r.Power.Stopped {
			reach, notes = "stopped", powerNote(r, now)
		} else if pn := powerNote(r, now); pn != "" {
			notes = strings.TrimPrefix(notes+"; "+pn, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			Who(r), reach, ready(r), healthCell(r.Health), phaseCell(r.Addons), phaseCell(r.Coins), r.Sessions, lastCell(r.Last, now), truncate(remote.EscapeLine(notes), maxNotes))
	}
	return tw.Flush()
}

// Seated says the rows are of a lab with spares (see Row.Attendee).
func Seated(rows []Row) bool {
	for _, r := range rows {
		if r.Attendee > 0 || r.Spare {
			return true
		}
	}
	return false
}

// SeatOrder is the rows in attendee order, then the spares in cluster
// order.
func SeatOrder(rows []Row) []Row {
	out := slices.Clone(rows)
	key := func(r Row) int {
		if r.Spare {
			return 1<<20 + r.Cluster
		}
		return r.Attendee
	}
	slices.SortStableFunc(out, func(a, b Row) int { return key(a) - key(b) })
	return out
}

// Who is the row's first cell: "03" without spares, "01 → 03" for
// attendee 01 on cluster 03, "spare → 02".
func Who(r Row) string {
	switch {
	case r.Spare:
		return fmt.Sprintf("spare → %02d", r.Cluster)
	case r.Attendee > 0:
		return fmt.Sprintf("%02d → %02d", r.Attendee, r.Cluster)
	}
	return fmt.Sprintf("%02d", r.Cluster)
}

// WriteJSON writes the rows as a JSON array.
func WriteJSON(w io.Writer, rows []Row) error {
	if rows == nil {
		rows = []Row{}
	}
	data, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// Notes says what is wrong with a cluster, most urgent first: nodes that do
// not answer, kubectl failing, a failed phase.
func Notes(r Row) string {
	var notes []string
	byErr := map[string][]string{}
	var order []string
	for _, n := range r.Nodes {
		if n.Reachable {
			continue
		}
		reason := n.Error
		if strings.HasPrefix(reason, "no answer within") {
			// The executor's last words differ per host; --json keeps them.
			reason, _, _ = strings.Cut(reason, " (")
		}
		if _, seen := byErr[reason]; !seen {
			order = append(order, reason)
		}
		byErr[reason] = append(byErr[reason], n.Name)
	}
	for _, e := range order {
		notes = append(notes, fmt.Sprintf("%s unreachable: %s", strings.Join(byErr[e], ","), e))
	}
	if r.KubeError != "" {
		notes = append(notes, r.KubeError)
	}
	if r.Health != nil && len(r.Health.Failed) > 0 {
		notes = append(notes, r.Health.Failed[0])
	}
	if r.Last != nil && !r.Last.OK {
		msg := r.Last.Name + " failed"
		if r.Last.Step != "" {
			msg += " at " + r.Last.Step
		}
		if r.Last.Error != "" {
			msg += ": " + oneLine(r.Last.Error)
		}
		notes = append(notes, msg)
	}
	return strings.Join(notes, "; ")
}

func ready(r Row) string {
	if r.Ready == nil {
		return "-"
	}
	return fmt.Sprintf("%d/%d", *r.Ready, r.Total)
}

func phaseCell(p *Phase) string {
	switch {
	case p == nil:
		return "-"
	case p.OK:
		return "ok"
	}
	return "FAILED"
}

func lastCell(p *Phase, now time.Time) string {
	if p == nil {
		return "-"
	}
	state := "ok"
	if !p.OK {
		state = "FAILED"
	}
	return fmt.Sprintf("%s %s (%s)", p.Name, state, Age(now.Sub(p.At)))
}

// Age is a short duration for people: "40s ago", "3m ago", "2h ago", "4d ago".
func Age(d time.Duration) string {
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Watch draws frame every interval until ctx ends (Ctrl-C), which is not an
// error. On a terminal each frame replaces the previous one in place;
// elsewhere frames follow one another.
func Watch(ctx context.Context, w io.Writer, interval time.Duration, tty bool, frame func(context.Context) ([]byte, error)) error {
	for first := true; ; first = false {
		out, err := frame(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if tty {
			// Home, then each line cleared to its end, then the rest of the
			// screen: a redraw without the flicker of a full clear.
			if first {
				b.WriteString("\x1b[2J") // start on a clean screen
			}
			b.WriteString("\x1b[H")
			for _, line := range strings.SplitAfter(string(out), "\n") {
				if line == "" {
					continue
				}
				b.WriteString(strings.TrimSuffix(line, "\n") + "\x1b[K")
				if strings.HasSuffix(line, "\n") {
					b.WriteByte('\n')
				}
			}
			b.WriteString("\x1b[J")
		} else {
			if !first {
				b.WriteByte('\n')
			}
			b.Write(out)
		}
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}
