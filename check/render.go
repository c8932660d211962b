package check

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// maxGridChecks is how many checks get a column each; past it, the grid
// has one column per chapter.
const maxGridChecks = 12

// Render prints the grid (one row per attendee; one column per check, or
// per chapter when there are many), the reasons for what failed, then
// per chapter how many attendees finished it and who is behind.
func Render(w io.Writer, rows []Row, chapters []Chapter) error {
	n := 0
	for _, ch := range chapters {
		n += len(ch.Checks)
	}
	perCheck := n <= maxGridChecks
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"CLUSTER"}
	if seated(rows) {
		head[0] = "ATTENDEE → CLUSTER"
	}
	for _, ch := range chapters {
		if !perCheck {
			head = append(head, strings.ToUpper(ch.ID))
			continue
		}
		for _, k := range ch.Checks {
			head = append(head, k.ID)
		}
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		cells := []string{who(r)}
		if r.Error != "" {
			cells = append(cells, "unreachable")
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
			continue
		}
		for _, ch := range chapters {
			if !perCheck {
				ok := 0
				for _, k := range ch.Checks {
					if res := r.Result(ch.ID, k.ID); res != nil && res.OK {
						ok++
					}
				}
				cells = append(cells, fmt.Sprintf("%d/%d", ok, len(ch.Checks)))
				continue
			}
			for _, k := range ch.Checks {
				cell := "-"
				if res := r.Result(ch.ID, k.ID); res != nil {
					cell = "FAIL"
					if res.OK {
						cell = "ok"
					}
				}
				cells = append(cells, cell)
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		if r.Error != "" {
			fmt.Fprintf(w, "%s: unreachable: %s\n", who(r), r.Error)
		}
	}
	for _, ch := range chapters {
		var behind []string
		finished := 0
		for _, r := range rows {
			if slices.Contains(r.Done, ch.ID) {
				finished++
				continue
			}
			behind = append(behind, fmt.Sprintf("%s (%s)", who(r), reason(r, ch)))
		}
		fmt.Fprintf(w, "%d of %d attendees have finished chapter %s", finished, len(rows), ch.ID)
		if len(behind) > 0 {
			fmt.Fprintf(w, "; behind: %s", strings.Join(behind, ", "))
		}
		fmt.Fprintln(w)
	}
	return nil
}

// seated says the rows are of a lab with spares (see Row.Attendee).
func seated(rows []Row) bool {
	for _, r := range rows {
		if r.Attendee > 0 {
			return true
		}
	}
	return false
}

// who names a row: "03" (cluster 3, attendee 3) without spares; with,
// "01 → 03" (attendee 01 on cluster 03); a spare (checked when named by
// --cluster) is its cluster number.
func who(r Row) string {
	if r.Attendee > 0 {
		return fmt.Sprintf("%02d → %02d", r.Attendee, r.Cluster)
	}
	return fmt.Sprintf("%02d", r.Cluster)
}

// reason is the first failed check of ch on r, as the summary shows it.
func reason(r Row, ch Chapter) string {
	if r.Error != "" {
		return "unreachable"
	}
	for _, k := range ch.Checks {
		if res := r.Result(ch.ID, k.ID); res != nil && !res.OK {
			return k.ID + ": " + res.Saw
		}
	}
	return "not checked"
}

// WriteJSON prints the rows and the chapters' summary for scripts; the
// summary lists attendee numbers (in a lab without spares, attendee N is
// cluster N).
func WriteJSON(w io.Writer, rows []Row, chapters []Chapter) error {
	type summary struct {
		Chapter  string `json:"chapter"`
		Finished []int  `json:"finished"`
		Behind   []int  `json:"behind"`
	}
	out := struct {
		Rows     []Row     `json:"rows"`
		Chapters []summary `json:"chapters"`
	}{Rows: rows}
	for _, ch := range chapters {
		s := summary{Chapter: ch.ID, Finished: []int{}, Behind: []int{}}
		for _, r := range rows {
			n := r.Cluster // attendee N is cluster N, without spares
			if r.Attendee > 0 {
				n = r.Attendee
			}
			if slices.Contains(r.Done, ch.ID) {
				s.Finished = append(s.Finished, n)
			} else {
				s.Behind = append(s.Behind, n)
			}
		}
		out.Chapters = append(out.Chapters, s)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
