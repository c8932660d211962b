package board

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labctl/labctl/check"
	"github.com/labctl/labctl/remote"
)

//go:embed static
var static embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"ago": func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return time.Since(*t).Truncate(time.Second).String() + " ago"
	},
}).ParseFS(static, "static/*.html"))

// CSP allows nothing inline and nothing from elsewhere: whatever a
// cluster said is text, never code.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the board: / (the page), /events (server-sent events of
// the views), /state.json, /detail?cluster=N (what a row saw), /static/.
// secrets are redacted from every answer unless ShowSecrets.
func (b *Board) Handler(secrets []string) http.Handler {
	mux := http.NewServeMux()
	sub, _ := fs.Sub(static, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(sub)))
	mux.HandleFunc("GET /{$}", b.page)
	mux.HandleFunc("GET /detail", b.detail)
	mux.HandleFunc("GET /state.json", func(w http.ResponseWriter, r *http.Request) {
		views, _, _ := b.Snapshot()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(views)
	})
	mux.HandleFunc("GET /events", b.events)
	var h http.Handler = mux
	if !b.opts.ShowSecrets {
		h = redacting(h, secrets)
	}
	return headers(h)
}

func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", CSP)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// redactWriter replaces secrets in each write (the handlers write whole
// documents or whole events at once).
type redactWriter struct {
	http.ResponseWriter
	secrets []string
}

func (w redactWriter) Write(p []byte) (int, error) {
	if _, err := w.ResponseWriter.Write([]byte(remote.Redact(string(p), w.secrets))); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w redactWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func redacting(h http.Handler, secrets []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(redactWriter{w, secrets}, r)
	})
}

type column struct {
	Chapter, ID, Title string
}

// chapter is the chapter the page asks for, the first one by default.
func (b *Board) chapter(r *http.Request) (check.Chapter, bool) {
	id := r.URL.Query().Get("chapter")
	if len(b.course.Chapters) == 0 {
		return check.Chapter{}, id == ""
	}
	if id == "" {
		return b.course.Chapters[0], true
	}
	i := slices.IndexFunc(b.course.Chapters, func(c check.Chapter) bool { return c.ID == id })
	if i < 0 {
		return check.Chapter{}, false
	}
	return b.course.Chapters[i], true
}

func (b *Board) page(w http.ResponseWriter, r *http.Request) {
	ch, ok := b.chapter(r)
	if !ok {
		http.Error(w, "no such chapter", http.StatusNotFound)
		return
	}
	views, _, _ := b.Snapshot()
	var cols []column
	for _, k := range ch.Checks {
		title := k.Title
		if title == "" {
			title = k.ID
		}
		cols = append(cols, column{ch.ID, k.ID, title})
	}
	type row struct {
		View
		Cells    []*check.Result
		Finished bool
	}
	var rows []row
	finished := 0
	for _, v := range views {
		rw := row{View: v, Finished: slices.Contains(v.Done, ch.ID)}
		for _, c := range cols {
			rw.Cells = append(rw.Cells, find(v.Results, c.Chapter, c.ID))
		}
		if rw.Finished {
			finished++
		}
		rows = append(rows, rw)
	}
	render(w, "board.html", map[string]any{
		"Chapters": b.course.Chapters, "Chapter": ch, "Columns": cols, "Rows": rows,
		"Finished": finished, "Interval": b.opts.Interval, "Timeout": b.opts.Timeout,
	})
}

func find(rs []check.Result, ch, id string) *check.Result {
	for i := range rs {
		if rs[i].Chapter == ch && rs[i].ID == id {
			return &rs[i]
		}
	}
	return nil
}

func (b *Board) detail(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("cluster"))
	views, _, _ := b.Snapshot()
	i := slices.IndexFunc(views, func(v View) bool { return v.Cluster == n })
	if err != nil || i < 0 {
		http.Error(w, "no such cluster", http.StatusNotFound)
		return
	}
	render(w, "detail.html", map[string]any{"V": views[i], "Chapters": b.course.Chapters, "Check": r.URL.Query().Get("check")})
}

func render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// events sends the views as one JSON event per change, and a comment
// every 15 s to keep the connection open.
func (b *Board) events(w http.ResponseWriter, r *http.Request) {
	f, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	var last uint64
	first := true
	for {
		views, version, changed := b.Snapshot()
		if first || version != last {
			data, err := json.Marshal(views)
			if err != nil {
				return
			}
			if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
				return
			}
			f.Flush()
			first, last = false, version
		}
		select {
		case <-r.Context().Done():
			return
		case <-changed:
		case <-time.After(15 * time.Second):
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			f.Flush()
		}
	}
}

// Serve listens on addr and serves the board until ctx ends; ready, when
// set, gets the address it listens on.
func (b *Board) Serve(ctx context.Context, addr string, secrets []string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           b.Handler(secrets),
		ReadHeaderTimeout: 10 * time.Second,
		// Open event streams end with ctx.
		BaseContext: func(net.Listener) context.Context { return ctx },
	}
	if ready != nil {
		ready(ln.Addr())
	}
	go b.Run(ctx)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
