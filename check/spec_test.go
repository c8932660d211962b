package check

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Bad check files: one line naming the file, the line and the field.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"chapters:\n- id: a\n  checks:\n  - {id: x, kind: nope}\n", `mine.yaml:4: chapters[0].checks[0].kind: unknown kind "nope" (kinds: context, deployment, endpoints, everynode, exists, helm, mining, netpol)`},
		{"chapters: [\n", "mine.yaml:1: not valid YAML: did not find expected node content"},
		{"chapters:\n- id: a\n  chekcs: []\n", `mine.yaml:3: unknown field "chapters[0].chekcs"`},
		{"chapters:\n- id: a\n  checks:\n  - id: x\n    kind: deployment\n", `mine.yaml:4: chapters[0].checks[0].name: required by kind "deployment"`},
		{"chapters:\n- id: a\n  checks:\n  - id: x\n    kind: exists\n    resource: Gadget\n    name: g\n", `mine.yaml:6: chapters[0].checks[0].resource: unknown resource "Gadget"`},
		{"chapters:\n- id: A B\n", `mine.yaml:2: chapters[0].id: "A B" is not a lowercase name`},
		{"chapters:\n- id: a\n- id: a\n", `mine.yaml:3: chapters[1].id: chapter "a" defined twice`},
		{"chapters:\n- id: a\n  checks:\n  - {id: x, kind: deployment, name: w, replicas: ten}\n", "mine.yaml:4: chapters[0]: cannot unmarshal !!str `ten` into int"},
	} {
		_, err := Parse("mine.yaml", []byte(tc.body))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: got %v, want %s", tc.body, err, tc.want)
		}
	}
}

// An instructor's file adds chapters after the shipped ones and checks to
// shipped chapters; unknown chapters are named with the ones there are.
func TestLoadOwnAndSelect(t *testing.T) {
	p := filepath.Join(t.TempDir(), "checks.yaml")
	os.WriteFile(p, []byte("chapters:\n- id: scaling\n  checks:\n  - {id: extra, kind: deployment, name: x}\n- id: capstone\n  checks:\n  - {id: shop, kind: endpoints, name: shop}\n"), 0o600)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select([]string{"capstone", "scaling"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sel) != 2 || sel[0].ID != "scaling" || len(sel[0].Checks) != 2 || sel[1].ID != "capstone" {
		t.Errorf("selected %+v", sel)
	}
	if _, err := c.Select([]string{"scalling"}); err == nil || !strings.Contains(err.Error(), `chapter "scalling": no such chapter`) || !strings.Contains(err.Error(), "capstone") {
		t.Errorf("unknown chapter: %v", err)
	}
	os.WriteFile(p, []byte("chapters:\n- id: scaling\n  checks:\n  - {id: pingpong-8, kind: deployment, name: x}\n"), 0o600)
	if _, err := Load(p); err == nil || !strings.HasPrefix(err.Error(), p+":4: chapters: check \"pingpong-8\" already in chapter \"scaling\"") {
		t.Errorf("duplicate: %v", err)
	}
}

// Run: a cluster that cannot be opened or hangs is a row that says so,
// the others are checked; the grid and the summary say who is behind.
func TestRunAndRender(t *testing.T) {
	c, _ := Shipped()
	chapters, _ := c.Select([]string{"first-deployment", "scaling"})
	ahead := env(deploy("pingpong", "alpine", 8, 8, false))
	behind := env(deploy("pingpong", "alpine", 1, 1, false))
	targets := []Target{
		{Cluster: 1, Open: func(context.Context) (Env, error) { return ahead, nil }},
		{Cluster: 2, Open: func(context.Context) (Env, error) { return behind, nil }},
		{Cluster: 3, Open: func(context.Context) (Env, error) { return Env{}, errors.New("03/node1: dial tcp: connection refused") }},
		{Cluster: 4, Open: func(ctx context.Context) (Env, error) { <-make(chan int); return Env{}, nil }},
	}
	start := time.Now()
	rows := Run(context.Background(), targets, chapters, 2, 300*time.Millisecond)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
	var b strings.Builder
	if err := Render(&b, rows, chapters); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"CLUSTER  pingpong  pingpong-8\n01       ok        ok\n02       ok        FAIL\n03       unreachable\n04       unreachable\n",
		"03: unreachable: 03/node1: dial tcp: connection refused\n",
		"04: unreachable: timed out after 300ms\n",
		"2 of 4 attendees have finished chapter first-deployment; behind: 03 (unreachable), 04 (unreachable)\n",
		"1 of 4 attendees have finished chapter scaling; behind: 02 (pingpong-8: deployment pingpong: 1 ready replica, want 8), 03 (unreachable), 04 (unreachable)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	if err := WriteJSON(&b, rows, chapters); err != nil || !strings.Contains(b.String(), `"finished": [
        1
      ]`) {
		t.Errorf("json: %v\n%s", err, b.String())
	}
}
