package remote

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// PrefixWriter writes whole lines, each behind Prefix, so the output of
// hosts running at once never interleaves within a line. Writers sharing
// one destination share one Mu.
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

func (p *PrefixWriter) Write(b []byte) (int, error) {
	p.buf.Write(b)
	for {
		i := bytes.IndexByte(p.buf.Bytes(), '\n')
		if i < 0 {
			return len(b), nil
		}
		line := p.buf.Next(i + 1)
		p.Mu.Lock()
		_, err := fmt.Fprintf(p.W, "%s%s", p.Prefix, line)
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
	fmt.Fprintf(p.W, "%s%s\n", p.Prefix, p.buf.Bytes())
	p.Mu.Unlock()
	p.buf.Reset()
}
