// Package cointest runs DockerCoins for tests: a real redis-server on a
// loopback port, and the services built with `go build` and started as real
// processes.
package cointest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Module is the import path prefix of the services.
const Module = "github.com/labctl/labctl/coins/"

// Need skips the test when the program is missing, or fails it when CI=true
// (a CI machine must have every tool installed).
func Need(t testing.TB, program, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s not found: install it with `apt-get install -y %s`", program, debianPackage)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Build compiles the named services (e.g. "rng", "worker") into one
// temporary directory and returns it; binaries are named after the service.
// ldflags, when not empty, is passed to the build (e.g. "-X main.firstSleep=1s").
func Build(t testing.TB, ldflags string, services ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := BuildInto(dir, ldflags, services...); err != nil {
		t.Fatal(err)
	}
	return dir
}

// BuildInto is Build for TestMain: it compiles into dir.
func BuildInto(dir, ldflags string, services ...string) error {
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	for _, s := range services {
		args = append(args, Module+s)
	}
	cmd := exec.Command(goTool(), args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %v: %v\n%s", args, err, out)
	}
	return nil
}

// Main builds the services into a temporary directory, stores its path in
// *dir, runs the tests and removes the directory: for a package whose tests
// all use the same binaries. Use it as os.Exit(cointest.Main(m, &dir, ...)).
func Main(m *testing.M, dir *string, services ...string) int {
	d, err := os.MkdirTemp("", "dockercoins-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(d)
	if err := BuildInto(d, "", services...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*dir = d
	return m.Run()
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// Proc is a running service process whose output is captured.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{}
	err  error
}

// Start runs argv with env added to the test's environment, and kills it at
// the end of the test (printing its output if the test failed).
func Start(t testing.TB, name string, argv []string, env ...string) *Proc {
	t.Helper()
	p := &Proc{Name: name, cmd: exec.Command(argv[0], argv[1:]...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("--- output of %s:\n%s", name, p.Output())
		}
	})
	return p
}

// Output is everything the process printed so far.
func (p *Proc) Output() string { return p.out.String() }

// Signal sends sig to the process.
func (p *Proc) Signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits up to timeout for the process to exit and returns whether it did.
func (p *Proc) Wait(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// Service starts an already built service listening on a
// free loopback port and waits until it answers HTTP. It returns the process
// and its base URL.
func Service(t testing.TB, binDir, name string, env ...string) (*Proc, string) {
	t.Helper()
	port := FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	env = append([]string{"DOCKERCOINS_LISTEN=" + addr}, env...)
	p := Start(t, name, []string{filepath.Join(binDir, name)}, env...)
	base := "http://" + addr
	WaitHTTP(t, base+"/", 20*time.Second)
	return p, base
}

// WaitHTTP polls url until it answers (any status) or fails the test.
func WaitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	client := &http.Client{
		Timeout:       2 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer within %s: %v", url, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Client returns a go-redis client for addr, closed at the end of the test.
func Client(t testing.TB, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr:                     addr,
		Protocol:                 2,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// Ping reports whether a Redis server answers at addr.
func Ping(ctx context.Context, addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	defer c.Close()
	return c.Ping(ctx).Err()
}
