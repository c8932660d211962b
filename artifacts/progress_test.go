package artifacts

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// A long compile says which step it is and that it is still running.
func TestGoBuildShowsProgress(t *testing.T) {
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	progressEvery = 50 * time.Millisecond
	var log bytes.Buffer
	b := &builder{opts: Options{Log: &log}, gt: goTool{bin: "/bin/sh"}, started: time.Now(), recipe: Recipe{Arch: "amd64"}}
	if err := b.goBuild(context.Background(), t.TempDir(), "kubernetes v1.34.4", "-c", "sleep 0.3"); err != nil {
		t.Fatal(err)
	}
	out := log.String()
	for _, want := range []string{"[1/4] go build kubernetes v1.34.4 ...", "[1/4] go build kubernetes v1.34.4: still compiling", "[1/4] go build kubernetes v1.34.4: 0s"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
