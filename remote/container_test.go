package remote

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRuntime is a container runtime CLI whose one container is this
// machine: `exec [-i] NAME sh -c LINE` runs LINE here, in a directory of
// the test's; NAME "gone" is a container that does not exist.
func fakeRuntime(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "runtime")
	body := `#!/bin/sh
[ "$1" = exec ] || exit 99
shift
[ "$1" = -i ] && shift
if [ "$1" = gone ]; then echo "Error: no such container $1" >&2; exit 125; fi
echo "$LABCTL_TEST_ENV" > ` + dir + `/env
shift
cd ` + dir + ` && exec "$@"
`
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, dir
}

func TestContainerHostRun(t *testing.T) {
	rt, dir := fakeRuntime(t)
	x := NewEngine(Config{ContainerEnv: []string{"LABCTL_TEST_ENV=conf-x"}, Secrets: []string{"s3cret"}}).
		Host(Host{Name: "01/node1", Runtime: rt, Container: "labctl-demo-01-control-plane"})
	ctx := context.Background()
	res, err := x.Run(ctx, Command{Line: "echo hello; echo warn >&2"})
	if err != nil || string(res.Stdout) != "hello\n" || string(res.Stderr) != "warn\n" {
		t.Fatalf("run: %v %q %q", err, res.Stdout, res.Stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "env")); string(b) != "conf-x\n" {
		t.Errorf("the runtime did not get ContainerEnv: %q", b)
	}
	_, err = x.Run(ctx, Command{Line: "echo s3cret; exit 3"})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.ExitCode != 3 || ee.Host != "01/node1" || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("exit: %v", err)
	}
	res, err = x.Run(ctx, Command{Line: "cat", Stdin: strings.NewReader("in")})
	if err != nil || string(res.Stdout) != "in" {
		t.Fatalf("stdin: %v %q", err, res.Stdout)
	}
	gone := NewEngine(Config{}).Host(Host{Name: "02/node1", Runtime: rt, Container: "gone"})
	if _, err := gone.Run(ctx, Command{Line: "true"}); err == nil || !strings.Contains(err.Error(), "no such container") {
		t.Fatalf("missing container: %v", err)
	}
}

func TestContainerHostUpload(t *testing.T) {
	rt, dir := fakeRuntime(t)
	x := ContainerHost(Host{Name: "01/node1", Runtime: rt, Container: "c"}, nil, "")
	dst := filepath.Join(dir, "sub", "file")
	if err := x.Upload(context.Background(), strings.NewReader("payload"), dst, 0o640); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dst)
	info, _ := os.Stat(dst)
	if err != nil || string(b) != "payload" || info.Mode().Perm() != 0o640 {
		t.Fatalf("uploaded %q (%v), mode %v", b, err, info.Mode())
	}
}

func TestContainerHostTunnel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Write([]byte("api"))
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	// The node's own name is its address on the container network.
	x := ContainerHost(Host{Name: "01/node1", Runtime: "podman", Container: "n-control-plane", Address: "127.0.0.1"}, nil, "")
	c, err := x.Tunnel(context.Background(), "tcp", "n-control-plane:"+port)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := c.Read(buf); err != nil || string(buf) != "api" {
		t.Fatalf("read %q: %v", buf, err)
	}
	c.Close()
	noAddr := ContainerHost(Host{Name: "01/node1", Runtime: "podman", Container: "n"}, nil, "")
	if _, err := noAddr.Tunnel(context.Background(), "tcp", "localhost:6443"); err == nil {
		t.Fatal("tunnel without an address")
	}
}
