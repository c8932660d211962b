// Command rng serves random bytes, one request at a time.
//
// GET /     answers "RNG running on <hostname>".
// GET /<n>  sleeps 100 ms, then answers n random bytes.
//
// Every request, on every route, holds one global lock: a single rng answers
// about 10 requests per second, whatever the number of clients. That cap is
// the bottleneck the DockerCoins exercises ask attendees to find, so it must
// stay. Each response closes its connection, so that Kubernetes services
// (which balance per connection) spread clients across rng pods.
package main

import (
	"crypto/rand"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxBytes bounds /<n>: the worker asks for 32.
const maxBytes = 1 << 20

type rng struct {
	mu       sync.Mutex // the global lock: one request at a time
	hostname string
	debug    bool
}

func (s *rng) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer accessLog(r, rec)
	rec.Header().Set("Connection", "close")

	path := strings.TrimPrefix(r.URL.Path, "/")
	if path == "" {
		rec.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(rec, "RNG running on %s\n", s.hostname)
		return
	}
	n, err := strconv.Atoi(path)
	if err != nil || n < 0 || n > maxBytes {
		http.Error(rec, fmt.Sprintf("want /<number of bytes>, at most %d", maxBytes), http.StatusBadRequest)
		return
	}
	time.Sleep(100 * time.Millisecond)
	buf := make([]byte, n)
	_, _ = rand.Read(buf) // never fails on Linux
	rec.Header().Set("Content-Type", "application/octet-stream")
	rec.Header().Set("Content-Length", strconv.Itoa(n))
	_, _ = rec.Write(buf)
	if s.debug {
		log.Printf("served %d random bytes", n)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// accessLog prints one timestamped line per request on stdout, so that
// `kubectl logs -l app=rng --tail 1` shows which pods serve.
func accessLog(r *http.Request, rec *statusRecorder) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	fmt.Printf("%s - - [%s] \"%s %s %s\" %d %d\n", host,
		time.Now().Format("02/Jan/2006 15:04:05"), r.Method, r.URL.RequestURI(), r.Proto, rec.status, rec.bytes)
}

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func main() {
	hostname, _ := os.Hostname()
	s := &rng{hostname: hostname, debug: os.Getenv("DEBUG") != ""}
	addr := getenv("DOCKERCOINS_LISTEN", ":80")
	srv := &http.Server{Addr: addr, Handler: s, ReadHeaderTimeout: 10 * time.Second}
	// Keep-alive off as well: every response ends its connection.
	srv.SetKeepAlivesEnabled(false)
	log.Printf("RNG listening on %s", addr)
	log.Fatal(srv.ListenAndServe())
}
