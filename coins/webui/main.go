// Command webui serves the DockerCoins dashboard.
//
// GET /      redirects to /index.html.
// GET /json  answers {"coins": HLEN wallet, "hashes": GET hashes, "now": unix time}.
// Anything else is a static file from DOCKERCOINS_FILES (/files in the
// image; Compose mounts ./webui/files over it for live edits).
//
// The page polls "json" (a relative URL) every second and draws the mining
// speed, so it also works behind a path prefix such as kubectl proxy's
// /api/v1/namespaces/<ns>/services/webui/proxy/.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

type webui struct {
	redis *redis.Client
	files *os.Root
	debug bool
}

// status is the body of /json; Hashes is null until a worker has counted.
type status struct {
	Coins  int64   `json:"coins"`
	Hashes *string `json:"hashes"`
	Now    float64 `json:"now"`
}

func (s *webui) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer s.accessLog(r, rec)
	switch {
	case r.URL.Path == "/":
		http.Redirect(rec, r, "/index.html", http.StatusFound)
	case r.URL.Path == "/json":
		s.serveJSON(rec, r)
	default:
		s.serveFile(rec, r)
	}
}

func (s *webui) serveJSON(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	// A Redis error is answered, never fatal: the client reconnects on the
	// next request, so webui keeps retrying for as long as it runs.
	coins, err := s.redis.HLen(ctx, "wallet").Result()
	if err != nil {
		s.redisError(w, err)
		return
	}
	st := status{Coins: coins}
	hashes, err := s.redis.Get(ctx, "hashes").Result()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		s.redisError(w, err)
		return
	default:
		st.Hashes = &hashes
	}
	st.Now = float64(time.Now().UnixMicro()) / 1e6
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(st)
}

func (s *webui) redisError(w http.ResponseWriter, err error) {
	log.Printf("Redis: %v (will retry on the next request)", err)
	http.Error(w, "redis: "+err.Error(), http.StatusServiceUnavailable)
}

func (s *webui) serveFile(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	f, err := s.files.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "file error", http.StatusInternalServerError)
		if s.debug {
			log.Printf("open %s: %v", name, err)
		}
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || info.IsDir() {
		http.NotFound(w, r)
		return
	}
	// Files are edited live through the Compose volume: always revalidate.
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, info.ModTime(), f)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// accessLog logs failures always and everything with DEBUG: the page polls
// /json every second, which would drown the logs otherwise.
func (s *webui) accessLog(r *http.Request, rec *statusRecorder) {
	if !s.debug && rec.status < 400 {
		return
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	log.Printf("%s %s %s %d", host, r.Method, r.URL.RequestURI(), rec.status)
}

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func main() {
	log.SetOutput(os.Stdout)
	dir := getenv("DOCKERCOINS_FILES", "/files")
	files, err := os.OpenRoot(dir)
	if err != nil {
		log.Fatalf("static files: %v", err)
	}
	s := &webui{
		redis: redis.NewClient(&redis.Options{
			Addr:                     getenv("DOCKERCOINS_REDIS", "redis:6379"),
			Protocol:                 2,
			DisableIdentity:          true,
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		}),
		files: files,
		debug: os.Getenv("DEBUG") != "",
	}
	addr := getenv("DOCKERCOINS_LISTEN", ":80")
	srv := &http.Server{Addr: addr, Handler: s, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("WEBUI running on %s, serving %s\n", addr, dir)
	log.Fatal(srv.ListenAndServe())
}
