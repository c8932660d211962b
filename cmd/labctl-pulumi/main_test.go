package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/labctl/labctl/lab"
	lp "github.com/labctl/labctl/provision/pulumi"
)

// events decodes what serve wrote: one JSON event a line, nothing else.
func events(t *testing.T, out *bytes.Buffer) []lp.Event {
	t.Helper()
	var evs []lp.Event
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e lp.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not an event: %q", line)
		}
		evs = append(evs, e)
	}
	return evs
}

func TestServeRefusesBadRequests(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"not json", "labctl-pulumi: request:"},
		{`{"op":"up"}`, "request: no lab"},
		{`{"op":"bogus","lab":{"Name":"x"}}`, `request: op "bogus" is not up, preview, destroy, outputs, power, inventory or delete`},
	} {
		var out bytes.Buffer
		if code := serve(t.Context(), strings.NewReader(c.in), &out); code != 1 {
			t.Errorf("%s: exit %d, want 1", c.in, code)
		}
		evs := events(t, &out)
		if len(evs) != 1 || !strings.Contains(evs[0].Error, c.want) {
			t.Errorf("%s: %+v, want one error event with %q", c.in, evs, c.want)
		}
	}
}

// A stack of a lab never brought up, on a pulumi CLI that is not there:
// the error names the CLI, as labctl printed it when it ran the
// Automation API itself.
func TestServeNamesTheMissingCLI(t *testing.T) {
	dir := t.TempDir()
	req := lp.Request{Op: lp.OpDestroy, Lab: &lab.Lab{Name: "class"}, Dir: dir, Backend: "file://" + dir + "/backend", CLI: dir + "/cli"}
	body, _ := json.Marshal(req)
	var out bytes.Buffer
	if code := serve(t.Context(), bytes.NewReader(body), &out); code != 1 {
		t.Errorf("exit %d", code)
	}
	evs := events(t, &out)
	if len(evs) != 1 || !strings.HasPrefix(evs[0].Error, "pulumi CLI "+dir+"/cli/bin/pulumi:") {
		t.Errorf("%+v", evs)
	}
}

func TestLinesAreOneEventEach(t *testing.T) {
	var out bytes.Buffer
	w := lines{json.NewEncoder(&out)}
	w.Write([]byte("    + create labctl:local:Node c01-node1\n"))
	w.Write([]byte("    error: first\n      second\n"))
	evs := events(t, &out)
	want := []string{"    + create labctl:local:Node c01-node1", "    error: first", "      second"}
	if len(evs) != len(want) {
		t.Fatalf("%+v", evs)
	}
	for i, e := range evs {
		if e.Out != want[i] {
			t.Errorf("event %d: %q, want %q", i, e.Out, want[i])
		}
	}
}
