package main

import (
	"io"
	"sync"
)

// indent returns a writer that prefixes each line with four spaces.
func indent(w io.Writer) io.Writer {
	return &prefixWriter{mu: &sync.Mutex{}, w: w, prefix: "    "}
}
