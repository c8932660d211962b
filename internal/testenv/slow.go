package testenv

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// Gauge counts what is in flight across servers, and the most at once.
type Gauge struct {
	now, peak atomic.Int64
}

func (g *Gauge) inc() {
	n := g.now.Add(1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
}

func (g *Gauge) dec() { g.now.Add(-1) }

// Peak is the most counted at once.
func (g *Gauge) Peak() int64 { return g.peak.Load() }

// CountHandshakes makes the server count its handshakes in flight on g.
func (s *SSHServer) CountHandshakes(g *Gauge) { s.gauge.Store(g) }

// DelayHandshakes makes the next n connections wait d after TCP accepted
// them before the server says a word, as an sshd on a busy machine does
// (d longer than the client waits: a stalled handshake).
func (s *SSHServer) DelayHandshakes(n int, d time.Duration) {
	s.connDelay.Store(int64(d))
	s.slowConns.Store(int64(n))
}

// DelaySessions makes the next n session channels wait d before the
// server opens them: a login that went through, then a stall.
func (s *SSHServer) DelaySessions(n int, d time.Duration) {
	s.sessionDelay.Store(int64(d))
	s.slowSessions.Store(int64(n))
}

// take uses up one of a counter's delays, if any is left.
func take(n *atomic.Int64) bool {
	for {
		v := n.Load()
		if v <= 0 {
			return false
		}
		if n.CompareAndSwap(v, v-1) {
			return true
		}
	}
}

// stall keeps c silent for d, keeping what the client sent meanwhile (its
// version line) for the handshake; nil when c was closed meanwhile.
func stall(c net.Conn, d time.Duration) net.Conn {
	_ = c.SetReadDeadline(time.Now().Add(d))
	var got []byte
	buf := make([]byte, 256)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			break
		}
		if err != nil {
			return nil
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	return &replayConn{Conn: c, r: io.MultiReader(bytes.NewReader(got), c)}
}

// replayConn reads what was read from it already, then the rest.
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }
