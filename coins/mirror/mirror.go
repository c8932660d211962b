// Package mirror is a read-only registry for docker.io that serves the
// images of one OCI image layout: the read side of the OCI distribution API
// (GET /v2/, HEAD and GET of manifests by tag or digest and of blobs).
//
// labctl runs it on every node (cmd/labctl-mirror, a systemd unit on
// 127.0.0.1:5999) over the layout coins/phase preloads, and containerd and
// Docker list it as their first docker.io mirror: `kubectl create
// deployment redis --image=redis` pulls redis:latest even with pull policy
// Always and no way out. A name the layout lacks gets 404, and the client
// falls back to docker.io itself (in rooms with the Internet).
//
// The layout is read again whenever its index.json changes, so replacing
// the directory needs no restart.
package mirror

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Port is the mirror's port on every node: not one the course uses (22,
// 80, 8080, 6443, 8000-8002, NodePorts 30000-32767, the registry chapters'
// 5000 and 5001), nor one of Kubernetes' own (2379-2380, 10248-10260).
const Port = 5999

// Addr is where the mirror listens: loopback only, it is the node's own.
var Addr = fmt.Sprintf("127.0.0.1:%d", Port)

// DefaultLayout is the OCI image layout the mirror serves on a node.
const DefaultLayout = "/var/lib/labctl/mirror"

// Server serves one OCI image layout directory.
type Server struct {
	Dir string
	// Log receives one line per request; nil logs nothing.
	Log *log.Logger

	mu  sync.Mutex
	cat *catalog
}

// catalog returns the layout's catalog, read again when index.json changed.
func (s *Server) catalog() (*catalog, error) {
	index, err := os.ReadFile(filepath.Join(s.Dir, "index.json"))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cat != nil && bytes.Equal(s.cat.index, index) {
		return s.cat, nil
	}
	cat, err := loadCatalog(s.Dir, index)
	if err != nil {
		return nil, err
	}
	s.cat = cat
	return cat, nil
}

// Names lists name:tag for every image the layout serves.
func (s *Server) Names() ([]string, error) {
	cat, err := s.catalog()
	if err != nil {
		return nil, err
	}
	return cat.Names(), nil
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.serve(sw, r)
	if s.Log != nil {
		s.Log.Printf("%s %s %d %s", r.Method, r.URL.Path, sw.status, time.Since(start).Round(time.Millisecond))
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		apiError(w, r, http.StatusMethodNotAllowed, "UNSUPPORTED", "this mirror is read-only")
		return
	}
	path := r.URL.Path
	if path == "/v2/" || path == "/v2" {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			io.WriteString(w, "{}")
		}
		return
	}
	name, kind, ref, ok := splitPath(path)
	if !ok {
		apiError(w, r, http.StatusNotFound, "NOT_FOUND", "no such route: "+path)
		return
	}
	cat, err := s.catalog()
	if err != nil {
		// No layout yet (labctl has not preloaded this node) or a broken
		// one: the client goes on to the next host.
		apiError(w, r, http.StatusNotFound, "NAME_UNKNOWN", "no images here: "+err.Error())
		return
	}
	repo := cat.repos[name]
	if repo == nil {
		apiError(w, r, http.StatusNotFound, "NAME_UNKNOWN", "repository "+name+" is not mirrored here")
		return
	}
	switch kind {
	case "manifests":
		d, ok := repo.tags[ref]
		if !ok {
			d, ok = repo.manifests[ref]
		}
		if !ok {
			apiError(w, r, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest "+name+":"+ref+" is not mirrored here")
			return
		}
		s.serveBlob(w, r, d.Digest, d.MediaType)
	case "blobs":
		_, ok := repo.blobs[ref]
		if !ok {
			_, ok = repo.manifests[ref]
		}
		if !ok {
			apiError(w, r, http.StatusNotFound, "BLOB_UNKNOWN", "blob "+ref+" is not in "+name)
			return
		}
		s.serveBlob(w, r, ref, "application/octet-stream")
	}
}

// serveBlob sends a blob of the layout (ranges and HEAD included).
func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request, digest, mediaType string) {
	f, err := os.Open(blobPath(s.Dir, digest))
	if err != nil {
		apiError(w, r, http.StatusNotFound, "BLOB_UNKNOWN", "blob "+digest+": "+err.Error())
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", mediaType)
	h.Set("Docker-Content-Digest", digest)
	h.Set("Etag", `"`+digest+`"`)
	http.ServeContent(w, r, "", time.Time{}, f)
}

// splitPath cuts /v2/<name>/(manifests|blobs)/<reference>. A blob's
// reference must be a digest; a manifest's is a tag or a digest.
func splitPath(path string) (name, kind, ref string, ok bool) {
	rest, found := strings.CutPrefix(path, "/v2/")
	if !found {
		return "", "", "", false
	}
	for _, k := range []string{"/manifests/", "/blobs/"} {
		i := strings.LastIndex(rest, k)
		if i <= 0 {
			continue
		}
		name, kind, ref = rest[:i], strings.Trim(k, "/"), rest[i+len(k):]
		if ref == "" || strings.Contains(ref, "/") {
			return "", "", "", false
		}
		if kind == "blobs" && !digestPattern.MatchString(ref) {
			return "", "", "", false
		}
		return name, kind, ref, true
	}
	return "", "", "", false
}

// apiError writes an error in the distribution API's JSON form.
func apiError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	type apiErr struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	json.NewEncoder(w).Encode(struct {
		Errors []apiErr `json:"errors"`
	}{[]apiErr{{code, message}}})
}
