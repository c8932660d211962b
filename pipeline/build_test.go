package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/labctl/labctl/artifacts/goimage"
)

// The build phase says of each step whether the cache had it; it builds
// only what was missing, and a dry run builds nothing.
func TestBuildPhaseBuildsOnlyMisses(t *testing.T) {
	var builds []string
	step := func(name string, cached bool) buildStep {
		return buildStep{title: name, run: func(_ context.Context, _ *built, cacheOnly bool) error {
			if cached {
				return nil
			}
			if cacheOnly {
				return fmt.Errorf("%s: %w", name, goimage.ErrNotCached)
			}
			builds = append(builds, name)
			return nil
		}}
	}
	var out bytes.Buffer
	p := &buildPhase{out: &out, steps: []buildStep{step("a", true), step("b", false)}}
	if err := p.DryRun(context.Background(), &out); err != nil || len(builds) != 0 {
		t.Fatalf("dry run: %v, built %v", err, builds)
	}
	if want := "    a: in the cache\n    b: would build (b: not in the cache)\n"; out.String() != want {
		t.Fatalf("dry run printed:\n%s\nwant:\n%s", out.String(), want)
	}
	out.Reset()
	if err := p.Run(context.Background()); err != nil || strings.Join(builds, ",") != "b" {
		t.Fatalf("run: %v, built %v", err, builds)
	}
	if got := out.String(); !strings.HasPrefix(got, "    a: in the cache\n    b: building\n    b: built in ") {
		t.Fatalf("run printed:\n%s", got)
	}
	// A failure that is not a miss stops the phase, naming the step.
	p = &buildPhase{out: &out, steps: []buildStep{{title: "c", run: func(context.Context, *built, bool) error { return errors.New("no disk") }}}}
	if err := p.Run(context.Background()); err == nil || err.Error() != "c: no disk" {
		t.Fatalf("run: %v", err)
	}
}
