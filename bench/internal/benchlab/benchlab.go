// Package benchlab runs a built labctl on a benchmark's own lab file and
// state directory, timing each command, and holds the rest of what the
// benchmarks under bench/ all do: build labctl, make an SSH key, take a
// median.
package benchlab

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// New builds labctl into dir and returns the Lab of dir/lab.yaml and
// dir/state. It writes body as the lab file unless dir has one already (a
// lab a previous run kept, which the benchmark picks up again).
func New(dir, body string) (Lab, error) {
	bin, err := Build(dir)
	if err != nil {
		return Lab{}, err
	}
	l := Lab{Bin: bin, File: filepath.Join(dir, "lab.yaml"), State: filepath.Join(dir, "state")}
	if _, err := os.Stat(l.File); os.IsNotExist(err) {
		if err := os.WriteFile(l.File, []byte(body), 0o644); err != nil {
			return Lab{}, err
		}
	}
	return l, nil
}

// Build compiles labctl from the checkout the benchmark runs in (its root:
// `go run ./bench/...`) into dir, and returns the binary's path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "labctl")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/labctl").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
}

// KeyPair makes an ed25519 key without a passphrase, dir/id_ed25519, for
// the benchmark's own sshd servers, and returns its path and public line.
func KeyPair(dir string) (key, pub string, err error) {
	key = filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("ssh-keygen: %v: %s", err, out)
	}
	b, err := os.ReadFile(key + ".pub")
	if err != nil {
		return "", "", err
	}
	return key, strings.TrimSpace(string(b)), nil
}

// Median sorts ds in place (callers then read the minimum and maximum at
// either end) and returns its middle value.
func Median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}
