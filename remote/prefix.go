package remote

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// PrefixWriter writes whole lines, each behind Prefix, so the output of
// hosts running at once never interleaves within a line; control
// characters in a line are escaped (Escape), colours included. Writers
// sharing one destination share one Mu.
type PrefixWriter struct {
	Mu     *sync.Mutex
	W      io.Writer
	Prefix string
	buf    bytes.Buffer
}

// Indent returns a writer that prefixes each line with four spaces.
func Indent(w io.Writer) io.Writer {
	return &PrefixWriter{Mu: &sync.Mutex{}, W: w, Prefix: "    "}
}

// maxLine: a longer line is written in pieces, so a node printing
// without newlines cannot grow the buffer without bound.
const maxLine = 64 << 10

func (p *PrefixWriter) Write(b []byte) (int, error) {
	p.buf.Write(b)
	for {
		i := bytes.IndexByte(p.buf.Bytes(), '\n')
		if i < 0 {
			if p.buf.Len() >= maxLine {
				p.Flush()
			}
			return len(b), nil
		}
		line := p.buf.Next(i + 1)
		p.Mu.Lock()
		_, err := fmt.Fprintf(p.W, "%s%s\n", p.Prefix, Escape(string(line[:len(line)-1])))
		p.Mu.Unlock()
		if err != nil {
			return len(b), err
		}
	}
}

// Flush writes a last line that had no newline.
func (p *PrefixWriter) Flush() {
	if p.buf.Len() == 0 {
		return
	}
	p.Mu.Lock()
	fmt.Fprintf(p.W, "%s%s\n", p.Prefix, Escape(p.buf.String()))
	p.Mu.Unlock()
	p.buf.Reset()
}
