package remote

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, ünïcode ✓":               "plain text, ünïcode ✓",
		"a\tb\nc":                             "a\tb\nc",
		"\x1b]0;title\x07\x1b[2K\rcluster 01": `\x1b]0;title\x07\x1b[2K\rcluster 01`,
		"back\x08\x7f":                        `back\x08\x7f`,
		"c1 \u009b and raw \x9b":              `c1 \u009b and raw \x9b`,
		"bidi \u202eevil\u2066\u200f":         `bidi \u202eevil\u2066\u200f`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
	if got := EscapeLine("a\tb\nc\r"); got != `a\tb\nc\r` {
		t.Errorf("EscapeLine = %q", got)
	}
}

// ExitError and PrefixWriter, the two places node output is printed
// from, escape it; a line without end is written in pieces.
func TestNodeOutputEscapedWherePrinted(t *testing.T) {
	e := &ExitError{Host: "01/node1", Line: "x", ExitCode: 1, Output: "\x1b[2K\rcluster 01: ok"}
	if strings.ContainsAny(e.Error(), "\x1b\r") {
		t.Errorf("ExitError: %q", e.Error())
	}
	var out bytes.Buffer
	w := &PrefixWriter{Mu: &sync.Mutex{}, W: &out, Prefix: "[01/node1] "}
	w.Write([]byte("\x1b[31mred\x1b[0m\n"))
	for range 6 { // as an SSH channel delivers it: 32 KiB at a time
		w.Write([]byte(strings.Repeat("x", maxLine/2)))
		if w.buf.Len() >= maxLine {
			t.Fatalf("a line without end is kept whole: %d bytes", w.buf.Len())
		}
	}
	w.Flush()
	if !strings.HasPrefix(out.String(), "[01/node1] \\x1b[31mred\\x1b[0m\n[01/node1] xxx") || strings.Count(out.String(), "\n") != 4 {
		t.Errorf("prefixed: %q...", out.String()[:60])
	}
}
