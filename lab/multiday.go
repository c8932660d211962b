package lab

import (
	"fmt"
	"reflect"
	"time"
)

// timeAsText gives back the text of a YAML timestamp (endsAt: 2026-12-09
// unquoted) to a string field: ParseEnd reads it.
func timeAsText(from, to reflect.Type, v any) (any, error) {
	t, ok := v.(time.Time)
	if !ok || to.Kind() != reflect.String {
		return v, nil
	}
	if t.Equal(t.Truncate(24*time.Hour)) && t.Location() == time.UTC {
		return t.Format(time.DateOnly), nil
	}
	return t.Format(time.RFC3339), nil
}

// End is when the class ends (the lab file's endsAt), and whether it says.
// A date alone ends at midnight UTC after it: "2026-12-09" is the whole
// of that day.
func (l *Lab) End() (time.Time, bool) {
	t, err := ParseEnd(l.EndsAt)
	if err != nil || t.IsZero() {
		return time.Time{}, false
	}
	return t, true
}

// ParseEnd reads an end date: RFC 3339 ("2026-12-09T17:00:00+01:00") or a
// date ("2026-12-09", the end of that day in UTC). "" is no end date.
func ParseEnd(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.AddDate(0, 0, 1).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("endsAt: %q is not a date (2026-12-09) or an RFC 3339 time (2026-12-09T17:00:00Z)", s)
}

// Ended says whether the lab's class is over at now.
func (l *Lab) Ended(now time.Time) bool {
	end, ok := l.End()
	return ok && !now.Before(end)
}

// Power is whether a cluster's machines run, and how long they ran and
// stood stopped since labctl first started tracking them (storage still
// costs while stopped).
type Power struct {
	Stopped bool `json:"stopped"`
	// Since is when the machines last stopped or started.
	Since time.Time `json:"since"`
	// Ran and Idle add up the periods before Since.
	Ran  time.Duration `json:"ran"`
	Idle time.Duration `json:"idle"`
}

// Stopped says whether the cluster's machines were stopped by labctl stop.
func (c *Cluster) Stopped() bool { return c.Power != nil && c.Power.Stopped }

// SetStopped records that the cluster's machines stopped (or started) at
// now. Before the first stop, the cluster counts as running since its
// first provision.
func (c *Cluster) SetStopped(stopped bool, now time.Time) {
	if c.Power == nil {
		since := now
		if r, ok := c.Phases["provision"]; ok && r.At.Before(now) {
			since = r.At
		}
		c.Power = &Power{Since: since}
	}
	p := c.Power
	if p.Stopped == stopped {
		return
	}
	if p.Stopped {
		p.Idle += now.Sub(p.Since)
	} else {
		p.Ran += now.Sub(p.Since)
	}
	p.Stopped, p.Since = stopped, now
}

// Hours are how long the cluster's machines ran and stood stopped up to
// now (zero when labctl never stopped it: see SetStopped).
func (c *Cluster) Hours(now time.Time) (ran, idle time.Duration) {
	if c.Power == nil {
		return 0, 0
	}
	ran, idle = c.Power.Ran, c.Power.Idle
	if c.Power.Stopped {
		idle += now.Sub(c.Power.Since)
	} else {
		ran += now.Sub(c.Power.Since)
	}
	return ran, idle
}
