package lab

import (
	"strings"
	"testing"
	"time"
)

func TestParseEnd(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-09":                "2026-12-10T00:00:00Z",
		"2026-12-09T17:00:00+01:00": "2026-12-09T16:00:00Z",
		"2026-12-09T17:00:00Z":      "2026-12-09T17:00:00Z",
	} {
		got, err := ParseEnd(in)
		if err != nil || got.Format(time.RFC3339) != want {
			t.Errorf("ParseEnd(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"tomorrow", "2026-13-01", "09/12/2026", "2026-12-09 17:00"} {
		_, err := ParseEnd(bad)
		if err == nil || !strings.HasPrefix(err.Error(), "endsAt: ") || strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseEnd(%q): want a one-line endsAt error, got %v", bad, err)
		}
	}
	l := &Lab{EndsAt: "2026-12-09"}
	if l.Ended(time.Date(2026, 12, 9, 23, 59, 0, 0, time.UTC)) || !l.Ended(time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)) {
		t.Error("a date ends at the midnight after it")
	}
	if (&Lab{}).Ended(time.Now()) {
		t.Error("no end date never ends")
	}
}

func TestPowerHours(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	c := &Cluster{Phases: map[string]PhaseResult{"provision": {OK: true, At: t0}}}
	c.SetStopped(true, t0.Add(8*time.Hour))   // stop at 17:00
	c.SetStopped(true, t0.Add(9*time.Hour))   // a re-run changes nothing
	c.SetStopped(false, t0.Add(24*time.Hour)) // start at 9:00 the next day
	if c.Stopped() {
		t.Fatal("started, still stopped")
	}
	ran, idle := c.Hours(t0.Add(26 * time.Hour))
	if ran != 10*time.Hour || idle != 16*time.Hour {
		t.Errorf("ran %s, stopped %s; want 10h, 16h", ran, idle)
	}
}
