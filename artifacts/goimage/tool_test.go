package goimage

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestBuildTool builds a real helper from a scratch module and runs it;
// the same sources reuse the binary without building, a changed source
// makes a new one beside it.
func TestBuildTool(t *testing.T) {
	mod := t.TempDir()
	write := func(msg string) {
		os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.test/tool\n\ngo 1.22\n"), 0o644)
		os.MkdirAll(filepath.Join(mod, "cmd", "hello"), 0o755)
		os.WriteFile(filepath.Join(mod, "cmd", "hello", "main.go"), []byte("package main\n\nimport (\n\t\"fmt\"\n\t_ \"net\" // cgo's resolver: a host build is dynamic\n)\n\nfunc main() { fmt.Println(\""+msg+"\") }\n"), 0o644)
	}
	run := func(bin string) string {
		out, err := exec.Command(bin).Output()
		if err != nil {
			t.Fatalf("%s: %v", bin, err)
		}
		return strings.TrimSpace(string(out))
	}
	write("hello one")
	cache := t.TempDir()
	tool := Tool{Dir: mod, Package: "./cmd/hello", Name: "hello"}
	var log bytes.Buffer
	if _, err := BuildTool(t.Context(), tool, Options{CacheDir: cache, Log: &log, CacheOnly: true}); !errors.Is(err, ErrNotCached) || log.Len() != 0 {
		t.Fatalf("cache-only lookup of an empty cache: %v, log %q", err, log.String())
	}
	b1, err := BuildTool(t.Context(), tool, Options{CacheDir: cache, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if got := run(b1); got != "hello one" || filepath.Base(b1) != "hello" {
		t.Errorf("%s prints %q", b1, got)
	}
	if !strings.Contains(log.String(), "hello: go build ./cmd/hello") {
		t.Errorf("no build line: %q", log.String())
	}
	log.Reset()
	b2, err := BuildTool(t.Context(), tool, Options{CacheDir: cache, Log: &log, CacheOnly: true})
	if err != nil || b2 != b1 || log.Len() != 0 {
		t.Errorf("second call: %s, %v, log %q; want %s from the cache, silently", b2, err, log.String(), b1)
	}
	write("hello two")
	b3, err := BuildTool(t.Context(), tool, Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if b3 == b1 || run(b3) != "hello two" || run(b1) != "hello one" {
		t.Errorf("changed source: %s (was %s) prints %q", b3, b1, run(b3))
	}
	// For the nodes: a static linux binary, cached apart from the host build.
	node := tool
	node.Arch = runtime.GOARCH
	b4, err := BuildTool(t.Context(), node, Options{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if b4 == b3 || run(b4) != "hello two" {
		t.Errorf("node build %s (host build %s) prints %q", b4, b3, run(b4))
	}
	f, err := elf.Open(b4)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a dynamic loader: not a static build", b4)
		}
	}
	if _, err := BuildTool(t.Context(), Tool{Dir: mod, Package: "./cmd/hello", Name: "../x"}, Options{CacheDir: cache}); err == nil {
		t.Error("a name with a slash was accepted")
	}
}
