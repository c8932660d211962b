package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"sync"
)

// Fake is a scripted Executor for unit tests of phase logic. Each Run is
// matched against the rules in order; the first whose pattern matches the
// command line answers. A command no rule matches is an error, so a test
// notices commands it did not expect.
type Fake struct {
	Host string

	mu      sync.Mutex
	rules   []fakeRule
	calls   []string
	uploads map[string][]byte
}

type fakeRule struct {
	re     *regexp.Regexp
	result Result
	err    error
}

// NewFake returns a fake executor named host.
func NewFake(host string) *Fake {
	return &Fake{Host: host, uploads: map[string][]byte{}}
}

// On answers commands matching the regular expression pattern with stdout
// and the given exit code (non-zero exits become *ExitError).
func (f *Fake) On(pattern, stdout string, exitCode int) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, fakeRule{re: regexp.MustCompile(pattern), result: Result{Stdout: []byte(stdout), ExitCode: exitCode}})
	return f
}

// OnError answers commands matching pattern with err (a transport failure).
func (f *Fake) OnError(pattern string, err error) *Fake {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, fakeRule{re: regexp.MustCompile(pattern), err: err})
	return f
}

// Calls returns the command lines run so far, in order.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// Uploaded returns what was uploaded to path, and whether anything was.
func (f *Fake) Uploaded(path string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.uploads[path]
	return b, ok
}

func (f *Fake) Name() string { return f.Host }

func (f *Fake) Run(ctx context.Context, cmd Command) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	f.mu.Lock()
	f.calls = append(f.calls, cmd.Line)
	var rule *fakeRule
	for i := range f.rules {
		if f.rules[i].re.MatchString(cmd.Line) {
			rule = &f.rules[i]
			break
		}
	}
	f.mu.Unlock()
	if cmd.Stdin != nil {
		_, _ = io.Copy(io.Discard, cmd.Stdin)
	}
	if rule == nil {
		return Result{}, fmt.Errorf("%s: fake executor has no rule for %q", f.Host, cmd.Line)
	}
	if rule.err != nil {
		return Result{}, rule.err
	}
	res := rule.result
	if cmd.Stdout != nil {
		_, _ = cmd.Stdout.Write(res.Stdout)
	}
	if res.ExitCode != 0 {
		return res, &ExitError{Host: f.Host, Line: cmd.Line, ExitCode: res.ExitCode, Output: string(res.Stdout)}
	}
	return res, nil
}

func (f *Fake) Upload(ctx context.Context, r io.Reader, path string, mode os.FileMode) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var buf bytes.Buffer
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(&buf, h), r); err != nil {
		return fmt.Errorf("%s: upload %s: %w", f.Host, path, err)
	}
	f.mu.Lock()
	f.uploads[path] = buf.Bytes()
	f.calls = append(f.calls, fmt.Sprintf("upload %s %o", path, mode))
	f.mu.Unlock()
	return nil
}

func (f *Fake) Tunnel(ctx context.Context, network, addr string) (net.Conn, error) {
	return nil, errors.New(f.Host + ": fake executor has no tunnels")
}

func (f *Fake) Close() error { return nil }
