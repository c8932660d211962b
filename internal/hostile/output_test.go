package hostile

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/remote"
)

// rewriteLine is what a node prints to turn labctl's FAILED line into
// "cluster 01: ok" and retitle the terminal window (with a bidi override,
// a backspace and an 8-bit CSI byte).
const rewriteLine = "\x1b]0;owned\x07\x1b[2K\rcluster 01: ok\u202e\x08\x9b"

func raw(s string) bool {
	return strings.ContainsAny(s, "\x1b\x07\r\x08\u202e") || strings.Contains(s, "\x9b")
}

// A failing command's error carries what the node printed, escaped: it
// cannot rewrite the line it is printed on.
func TestControlCharactersInErrors(t *testing.T) {
	n := newNode(t)
	n.srv.Rewrite(func(string) string {
		return "printf '" + strings.ReplaceAll(rewriteLine, "\x1b", "\\033") + "'; exit 1"
	})
	_, err := n.x.Run(context.Background(), remote.Command{Line: "kubeadm init"})
	var ee *remote.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("err = %v", err)
	}
	if raw(err.Error()) || !strings.Contains(err.Error(), `\x1b]0;owned\x07\x1b[2K\rcluster 01: ok\u202e\x08\x9b`) || !strings.HasPrefix(err.Error(), "01/node1: ") {
		t.Fatalf("error shown as %q", err.Error())
	}

	// labctl exec's prefixed output, colours included, is escaped too.
	var out bytes.Buffer
	w := &remote.PrefixWriter{Mu: &sync.Mutex{}, W: &out, Prefix: "[01/node1] "}
	n.srv.Rewrite(func(string) string {
		return "printf 'fine\\tline\\n\\033[31mred\\033[0m\\n" + strings.ReplaceAll(rewriteLine, "\x1b", "\\033") + "'"
	})
	if _, err := n.x.Run(context.Background(), remote.Command{Line: "x", Stdout: w}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	want := "[01/node1] fine\tline\n[01/node1] \\x1b[31mred\\x1b[0m\n[01/node1] \\x1b]0;owned\\x07\\x1b[2K\\rcluster 01: ok\\u202e\\x08\\x9b\n"
	if out.String() != want {
		t.Fatalf("exec output\n%q\nwant\n%q", out.String(), want)
	}

	// A kubeconfig of control characters: the refusal is one escaped line.
	n.serve("printf 'x: \\033]0;owned\\007\\r'")
	_, err = connect(t, n.x, kube.Recorded{CA: newPKI(t).caPEM}, nil)
	if err == nil || raw(err.Error()) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %q", err)
	}
}

// A node that prints gigabytes, or never stops printing, is stopped once
// it printed more than labctl keeps: the command fails saying so, within
// the test's bound, and labctl's memory stays bounded.
func TestEndlessOutput(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		cmd          remote.Command
		limit        int
	}{
		{"gigabytes", "head -c 3000000000 /dev/zero", remote.Command{Line: "cat /etc/os-release"}, remote.DefaultMaxOutput},
		{"endless admin.conf", "cat /dev/zero", kube.ReadAdminConf, kube.MaxAdminConf},
		{"endless lines on stderr", "yes 'kubelet error' >&2", remote.Command{Line: "journalctl"}, remote.DefaultMaxOutput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newNode(t)
			n.srv.Rewrite(func(string) string { return tc.script })
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			res, err := n.x.Run(ctx, tc.cmd)
			if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "01/node1: ") || !strings.Contains(err.Error(), "printed more than") {
				t.Fatalf("err = %v (context: %v)", err, ctx.Err())
			}
			if len(res.Stdout) > tc.limit || len(res.Stderr) > tc.limit {
				t.Errorf("kept %d bytes of stdout, %d of stderr, limit %d", len(res.Stdout), len(res.Stderr), tc.limit)
			}
			var after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&after)
			if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 5*int64(remote.DefaultMaxOutput) {
				t.Errorf("heap grew by %d MiB", grew>>20)
			}
		})
	}
	// Through kube.Connect: the error names the node and the file.
	n := newNode(t)
	n.serve("cat /dev/zero")
	_, err := connect(t, n.x, kube.Recorded{CA: newPKI(t).caPEM}, nil)
	if err == nil || !strings.Contains(err.Error(), "01/node1: reading "+kube.AdminConf) || !strings.Contains(err.Error(), "printed more than 65536 bytes") {
		t.Fatalf("err = %v", err)
	}
}

// labctl exec streams what the user asked for (never stopped for its
// size), but a line without end is written in pieces, not kept whole.
func TestEndlessLineStreamed(t *testing.T) {
	n := newNode(t)
	n.srv.Rewrite(func(string) string { return "head -c 50000000 /dev/zero | tr '\\0' x" })
	var size countWriter
	w := &remote.PrefixWriter{Mu: &sync.Mutex{}, W: &size, Prefix: "[01/node1] "}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := n.x.Run(context.Background(), remote.Command{Line: "x", Stdout: w})
	w.Flush()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if err != nil || size.n < 50000000 || len(res.Stdout) > remote.DefaultMaxOutput {
		t.Fatalf("err %v, streamed %d, kept %d", err, size.n, len(res.Stdout))
	}
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 5*int64(remote.DefaultMaxOutput) {
		t.Errorf("heap grew by %d MiB", grew>>20)
	}
}

type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }
