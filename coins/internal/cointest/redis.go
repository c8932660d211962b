package cointest

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// Redis is a redis-server on a loopback port, with no persistence.
type Redis struct {
	Addr   string
	t      testing.TB
	server string
	port   int
	dir    string
	proc   *Proc
}

// StartRedis starts redis-server (Debian package redis-server) on a free
// loopback port; it is stopped at the end of the test.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	r := &Redis{t: t, server: Need(t, "redis-server", "redis-server"), port: FreePort(t), dir: t.TempDir()}
	r.Addr = "127.0.0.1:" + strconv.Itoa(r.port)
	r.Start()
	return r
}

// Start (re)starts the server on its port and waits until it answers PING.
func (r *Redis) Start() {
	r.t.Helper()
	r.proc = Start(r.t, "redis-server", []string{r.server,
		"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--save", "", "--appendonly", "no"})
	r.waitReady()
}

// Stop kills the server and waits for it to exit.
func (r *Redis) Stop() {
	r.t.Helper()
	if r.proc == nil {
		return
	}
	_ = r.proc.cmd.Process.Kill()
	<-r.proc.done
	r.proc = nil
}

func (r *Redis) waitReady() {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := Ping(ctx, r.Addr)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on %s did not answer: %v\n%s", r.Addr, err, r.proc.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
