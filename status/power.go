package status

import (
	"fmt"
	"time"

	"github.com/labctl/labctl/lab"
)

// Power is a cluster's machines stopped by labctl stop, and the hours its
// machines ran and stood stopped (storage still costs then).
type Power struct {
	Stopped bool      `json:"stopped"`
	Since   time.Time `json:"since"`
	// RanHours and StoppedHours count from the first provision.
	RanHours     float64 `json:"ranHours"`
	StoppedHours float64 `json:"stoppedHours"`
}

func power(c lab.Cluster, now time.Time) *Power {
	if c.Power == nil {
		return nil
	}
	ran, idle := c.Hours(now)
	return &Power{Stopped: c.Power.Stopped, Since: c.Power.Since, RanHours: ran.Hours(), StoppedHours: idle.Hours()}
}

// powerNote is the row's note about its machines: stopped since when,
// and the hours run and stopped.
func powerNote(r Row, now time.Time) string {
	p := r.Power
	if p == nil {
		return ""
	}
	hours := fmt.Sprintf("ran %.1fh, stopped %.1fh", p.RanHours, p.StoppedHours)
	if p.Stopped {
		return fmt.Sprintf("stopped for %s (labctl start); %s", span(now.Sub(p.Since)), hours)
	}
	return hours
}

// EndLine says when the class ends and how long is left, or "" without an
// end date.
func EndLine(end *time.Time, now time.Time) string {
	if end == nil {
		return ""
	}
	if !now.Before(*end) {
		return fmt.Sprintf("class ended %s ago (%s): `labctl sweep --yes` destroys it", span(now.Sub(*end)), end.Format(time.RFC3339))
	}
	return fmt.Sprintf("class ends %s: %s left", end.Format(time.RFC3339), span(end.Sub(now)))
}

// span is a duration for people: "40s", "3m", "5h20m", "2d4h".
func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours()/24), int(d.Hours())%24)
}
