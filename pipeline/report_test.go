package pipeline

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/lab"
)

// A class's report lists the clusters that failed and counts the others;
// -v lists them all.
func TestReportOfAClass(t *testing.T) {
	start := time.Now().UTC()
	st := &lab.State{}
	for i := 1; i <= 100; i++ {
		st.Clusters = append(st.Clusters, lab.Cluster{Index: i})
	}
	st.Clusters[41].SetPhase("reach", lab.PhaseResult{OK: false, At: start.Add(time.Second), Step: "42/node3", Error: "42/node3 (127.0.0.170:22): cannot connect after 9 attempts in 1m29s (tcp): connection refused"})
	for _, verbose := range []bool{false, true} {
		var out bytes.Buffer
		u := &Up{State: st, Out: &out, start: start, Verbose: verbose}
		if err := u.report(nil); err == nil || !strings.Contains(err.Error(), "1 of 100 clusters failed: cluster 42 (42/node3)") {
			t.Fatalf("err = %v", err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		want := []string{"==> report", "    cluster 42: FAILED: unreachable: 42/node3 (127.0.0.170:22): cannot connect after 9 attempts in 1m29s (tcp): connection refused", "    99 other clusters: ok (-v lists them)"}
		if verbose {
			if len(lines) != 101 || lines[1] != "    cluster 01: ok" || lines[42] != want[1] {
				t.Fatalf("-v: want every cluster, got %d lines:\n%s", len(lines), out.String())
			}
			continue
		}
		if strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Fatalf("report:\n%s\nwant:\n%s", out.String(), strings.Join(want, "\n"))
		}
	}
}
