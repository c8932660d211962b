// Command hasher computes SHA-256 hashes.
//
// POST /  sleeps 100 ms, then answers the lowercase hex SHA-256 of the body.
// GET /   answers "HASHER running on <hostname>".
//
// Unlike rng, hasher serves requests concurrently, and it exits promptly on
// SIGTERM.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// maxBody bounds what one request may hash: the worker sends 32 bytes.
const maxBody = 1 << 20

type hasher struct {
	hostname string
	debug    bool
}

func (s *hasher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer accessLog(r, rec)
	if r.URL.Path != "/" {
		http.NotFound(rec, r)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		rec.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(rec, "HASHER running on %s\n", s.hostname)
	case http.MethodPost:
		body, err := io.ReadAll(http.MaxBytesReader(rec, r.Body, maxBody))
		if err != nil {
			http.Error(rec, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		time.Sleep(100 * time.Millisecond)
		sum := sha256.Sum256(body)
		rec.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(rec, hex.EncodeToString(sum[:]))
		if s.debug {
			log.Printf("hashed %d bytes", len(body))
		}
	default:
		rec.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(rec, "method not allowed", http.StatusMethodNotAllowed)
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

// accessLog prints one timestamped line per request on stdout.
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
	addr := getenv("DOCKERCOINS_LISTEN", ":80")
	srv := &http.Server{
		Addr:              addr,
		Handler:           &hasher{hostname: hostname, debug: os.Getenv("DEBUG") != ""},
		ReadHeaderTimeout: 10 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-ctx.Done()
		// In-flight requests take 100 ms; give them a moment, no more.
		grace, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(grace)
	}()
	log.Printf("HASHER listening on %s", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	<-drained
	log.Printf("HASHER stopped")
}
