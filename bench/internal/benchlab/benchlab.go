// Package benchlab runs a built labctl on a benchmark's own lab file and
// state directory, timing each command.
package benchlab

import (
	"bytes"
	"log"
	"os/exec"
	"strings"
	"time"
)

// Lab is a labctl binary and the lab it drives.
type Lab struct{ Bin, File, State string }

// Run runs labctl ARGS on the lab and returns its time and output
// (stdout and stderr together).
func (l Lab) Run(args ...string) (time.Duration, string, error) {
	cmd := exec.Command(l.Bin, append([]string{"-f", l.File, "--state-dir", l.State}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	return time.Since(start), out.String(), err
}

// Must is Run that ends the benchmark, with labctl's output, on failure.
func (l Lab) Must(args ...string) time.Duration {
	d, out, err := l.Run(args...)
	if err != nil {
		log.Fatalf("labctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return d
}
