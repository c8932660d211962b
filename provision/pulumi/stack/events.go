package stack

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

func optupStreams(ch chan events.EngineEvent) []optup.Option {
	return []optup.Option{optup.EventStreams(ch), optup.Refresh()}
}

func optdestroyStreams(ch chan events.EngineEvent) []optdestroy.Option {
	return []optdestroy.Option{optdestroy.EventStreams(ch)}
}

// progress prints one line per resource step while the engine works:
// "    + create labctl:local:Node c01-node1", then "done (12.3s)". done is
// closed once the engine closed the channel.
func progress(out io.Writer) (chan events.EngineEvent, chan struct{}) {
	ch := make(chan events.EngineEvent)
	done := make(chan struct{})
	go func() {
		defer close(done)
		started := map[string]time.Time{}
		for e := range ch {
			switch {
			case e.ResourcePreEvent != nil:
				m := e.ResourcePreEvent.Metadata
				if quiet(string(m.Op)) {
					continue
				}
				started[m.URN] = time.Now()
				fmt.Fprintf(out, "    %s %s %s\n", opSymbol(string(m.Op)), m.Op, resourceName(m.Type, m.URN))
			case e.ResOutputsEvent != nil:
				m := e.ResOutputsEvent.Metadata
				if t, ok := started[m.URN]; ok {
					fmt.Fprintf(out, "    ✓ %s %s (%s)\n", m.Op, resourceName(m.Type, m.URN), time.Since(t).Round(100*time.Millisecond))
				}
			case e.ResOpFailedEvent != nil:
				m := e.ResOpFailedEvent.Metadata
				fmt.Fprintf(out, "    ✗ %s %s failed\n", m.Op, resourceName(m.Type, m.URN))
			case e.DiagnosticEvent != nil:
				d := e.DiagnosticEvent
				if d.Severity == "error" || d.Severity == "warning" {
					msg := strings.TrimSpace(d.Message)
					if msg != "" {
						fmt.Fprintf(out, "    %s: %s\n", d.Severity, firstLines(msg, 6))
					}
				}
			}
		}
	}()
	return ch, done
}

// quiet: steps that change nothing are not worth a line each.
func quiet(op string) bool {
	return op == "same" || op == "read" || op == "refresh"
}

func opSymbol(op string) string {
	switch op {
	case "create", "create-replacement":
		return "+"
	case "delete", "delete-replaced", "discard":
		return "-"
	case "replace":
		return "+-"
	}
	return "~"
}

// resourceName is "labctl:local:Node c01-node1" from a type and URN.
func resourceName(typ, urn string) string {
	name := urn[strings.LastIndex(urn, "::")+2:]
	return typ + " " + name
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n      ")
}

// summary is "2 created, 1 deleted, 3 unchanged" (or "no changes").
func summary(changes *map[string]int) string {
	if changes == nil {
		return "no changes"
	}
	words := map[string]string{"create": "created", "update": "updated", "delete": "deleted", "replace": "replaced", "same": "unchanged"}
	var parts []string
	changed := false
	for op, n := range *changes {
		w := words[op]
		if w == "" {
			w = op
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, w))
		changed = changed || op != "same"
	}
	sort.Strings(parts)
	if !changed {
		return "no changes (" + strings.Join(parts, ", ") + ")"
	}
	return strings.Join(parts, ", ")
}

// shortErr keeps the CLI's own error lines (auto errors carry its whole
// transcript: stdout, stderr, exit code).
func shortErr(err error) error {
	if auto.IsConcurrentUpdateError(err) {
		return fmt.Errorf("another pulumi is updating this stack: %w", err)
	}
	msg := err.Error()
	if i := strings.Index(msg, "\nstderr: "); i >= 0 {
		if stderr := strings.TrimSpace(msg[i+len("\nstderr: "):]); stderr != "" {
			return fmt.Errorf("%s", firstLines(stderr, 12))
		}
	}
	return err
}
