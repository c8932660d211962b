// Package agent is the web terminal that runs on node1 of every attendee
// cluster (see ../cmd/labctl-webterm): a page with xterm.js, a login form,
// and one SSH session to the node's own sshd per terminal, opened with
// what the attendee typed. It has no privileges of its own: it can do only
// what the attendee's login can.
package agent

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"io/fs"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

//go:embed static
var static embed.FS

// CookieName holds a login's random session id, never the password.
const CookieName = "labctl_webterm"

// Config is how the agent reaches sshd and where the page's libraries are.
type Config struct {
	// SSHAddr is the node's own sshd (127.0.0.1:22).
	SSHAddr string
	// HostKeys are the keys sshd may present (the node's /etc/ssh/*.pub):
	// anything else on SSHAddr is refused.
	HostKeys []ssh.PublicKey
	// Assets holds xterm.js and its fit add-on (files shipped next to the
	// binary, from the npm registry at build time).
	Assets fs.FS
	// Limiter slows down repeated login failures per client address.
	Limiter *Limiter
	// Idle ends a login whose terminals have all been closed that long.
	Idle time.Duration
	// MaxLogins is how many logins are held at once (DefaultMaxLogins if
	// zero); see remember.
	MaxLogins int
	// Counts, when set, is told the number of open terminals on change
	// (labctl status reads it).
	Counts func(logins, terminals int)
}

// Server is the agent's HTTP handler and its logins.
type Server struct {
	cfg Config
	mu  sync.Mutex
	// logins by session id: an SSH connection authenticated with the
	// attendee's password, which is dropped right after the handshake.
	logins map[string]*login
	terms  int
}

type login struct {
	user    string
	client  *ssh.Client
	open    int // terminals attached now
	lastUse time.Time
}

// New returns a server; call Close to end its logins.
func New(cfg Config) *Server {
	if cfg.Limiter == nil {
		cfg.Limiter = NewLimiter(3, time.Second, 30*time.Second)
	}
	if cfg.Idle == 0 {
		cfg.Idle = 12 * time.Hour
	}
	if cfg.MaxLogins == 0 {
		cfg.MaxLogins = DefaultMaxLogins
	}
	return &Server{cfg: cfg, logins: map[string]*login{}}
}

// Handler serves the page, the libraries, login/logout and terminals.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	page, _ := fs.Sub(static, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServer(http.FS(page))))
	if s.cfg.Assets != nil {
		mux.Handle("GET /vendor/", http.StripPrefix("/vendor/", http.FileServer(http.FS(s.cfg.Assets))))
	}
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /whoami", s.whoami)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /term/{n}", s.terminal)
	return headers(mux)
}

// headers: no framing (clickjacking), no inline anything from elsewhere.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:; frame-ancestors 'none'")
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	data, err := static.ReadFile("static/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(data)
}

// whoami tells the page whether its cookie still holds a login.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	l, _ := s.current(r)
	if l == nil {
		http.Error(w, "not logged in", http.StatusUnauthorized)
		return
	}
	w.Write([]byte(l.user))
}

// login authenticates against sshd with the form's user and password. The
// password lives only in this request: the SSH client keeps the
// connection, not the secret.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ip := clientIP(r)
	if wait := s.cfg.Limiter.Wait(ip); wait > 0 {
		w.Header().Set("Retry-After", seconds(wait))
		http.Error(w, "too many failed logins: try again in "+seconds(wait)+"s", http.StatusTooManyRequests)
		return
	}
	if !sameOrigin(r) {
		http.Error(w, "cross-site login refused", http.StatusForbidden)
		return
	}
	user, password := r.PostFormValue("user"), r.PostFormValue("password")
	if !validUser(user) || password == "" || len(password) > 1024 {
		s.cfg.Limiter.Fail(ip)
		http.Error(w, "login or password incorrect", http.StatusUnauthorized)
		return
	}
	client, err := s.dial(user, password)
	password = ""
	if err != nil {
		var auth *authError
		if errors.As(err, &auth) {
			s.cfg.Limiter.Fail(ip)
			log.Printf("login refused for %q from %s", user, ip)
			http.Error(w, "login or password incorrect", http.StatusUnauthorized)
			return
		}
		log.Printf("login for %q from %s: %v", user, ip, err)
		http.Error(w, "the node's sshd could not be reached", http.StatusBadGateway)
		return
	}
	s.cfg.Limiter.Succeed(ip)
	id := randomID()
	s.remember(id, &login{user: user, client: client, lastUse: time.Now()}, time.Now())
	go s.watch(id, client)
	log.Printf("login %q from %s", user, ip)
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	w.Write([]byte(user))
}

// watch forgets a login whose SSH connection ended (sshd restarted, the
// node rebooted): the page then shows the login form again.
func (s *Server) watch(id string, c *ssh.Client) {
	c.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.logins[id]; l != nil && l.client == c {
		delete(s.logins, id)
	}
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		http.Error(w, "cross-site logout refused", http.StatusForbidden)
		return
	}
	if c, err := r.Cookie(CookieName); err == nil {
		s.mu.Lock()
		l := s.logins[c.Value]
		delete(s.logins, c.Value)
		s.mu.Unlock()
		if l != nil {
			l.client.Close()
		}
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) current(r *http.Request) (*login, string) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return nil, ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.logins[c.Value]
	if l != nil && l.open == 0 && time.Since(l.lastUse) > s.cfg.Idle {
		delete(s.logins, c.Value)
		go l.client.Close()
		return nil, ""
	}
	return l, c.Value
}

// Close ends every login.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, l := range s.logins {
		l.client.Close()
		delete(s.logins, id)
	}
}

// Terminals is the number of terminals attached now, and logins held.
func (s *Server) Terminals() (logins, terminals int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.logins), s.terms
}

func (s *Server) attached(l *login, delta int) {
	s.mu.Lock()
	l.open += delta
	l.lastUse = time.Now()
	s.terms += delta
	n, t := len(s.logins), s.terms
	s.mu.Unlock()
	if s.cfg.Counts != nil {
		s.cfg.Counts(n, t)
	}
}

// validUser: a POSIX login name, nothing a shell or tmux could read twice.
func validUser(u string) bool {
	if u == "" || len(u) > 32 {
		return false
	}
	for i, c := range u {
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			return false
		}
	}
	return true
}

// sameOrigin: a browser's POST carries Origin; one from another site is
// refused (SameSite=Strict already keeps the cookie off it).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true // not a browser, or a same-origin navigation
	}
	_, host, ok := strings.Cut(o, "://")
	return ok && strings.EqualFold(host, r.Host)
}

// clientIP is the TCP peer: the agent is reached directly, so no header
// a client could set decides its rate limit.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func randomID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}
