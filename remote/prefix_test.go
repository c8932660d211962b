package remote

import (
	"bytes"
	"sync"
	"testing"
)

func TestPrefixWriterWholeLines(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	a := &PrefixWriter{Mu: &mu, W: &out, Prefix: "[01/node1] "}
	b := &PrefixWriter{Mu: &mu, W: &out, Prefix: "[02/node1] "}
	a.Write([]byte("hel"))
	b.Write([]byte("other\nsecond"))
	a.Write([]byte("lo\n"))
	a.Flush()
	b.Flush()
	want := "[02/node1] other\n[01/node1] hello\n[02/node1] second\n"
	if out.String() != want {
		t.Fatalf("got %q want %q", out.String(), want)
	}
}
