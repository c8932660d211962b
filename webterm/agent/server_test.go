package agent

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/ssh"
)

const user, password = "alice", "correct-horse-battery"

func newAgent(t *testing.T, keys []ssh.PublicKey, sshd *testSSHD) (*httptest.Server, *Server) {
	t.Helper()
	srv := New(Config{SSHAddr: sshd.addr, HostKeys: keys, Limiter: NewLimiter(3, 300*time.Millisecond, 2*time.Second),
		Assets: fstest.MapFS{"xterm.js": {Data: []byte("/* xterm */")}}})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return ts, srv
}

func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

func postLogin(c *http.Client, base, u, p string) (*http.Response, string) {
	r, err := c.PostForm(base+"/login", url.Values{"user": {u}, "password": {p}})
	if err != nil {
		return nil, err.Error()
	}
	defer r.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(r.Body)
	return r, strings.TrimSpace(b.String())
}

func TestLoginRefusedThenSlowedThenAccepted(t *testing.T) {
	sshd := startSSHD(t, user, password)
	ts, _ := newAgent(t, []ssh.PublicKey{sshd.hostKey}, sshd)
	c := client(t)
	for i := 0; i < 3; i++ {
		r, body := postLogin(c, ts.URL, user, "wrong")
		if r.StatusCode != http.StatusUnauthorized || body != "login or password incorrect" {
			t.Fatalf("wrong password %d: %d %q", i, r.StatusCode, body)
		}
	}
	r, _ := postLogin(c, ts.URL, user, "wrong") // the 4th failure starts the wait
	if r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("4th: %d", r.StatusCode)
	}
	r, body := postLogin(c, ts.URL, user, password)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("right password right after 4 failures: %d %q; want 429, tried only after a wait", r.StatusCode, body)
	}
	if sshd.logins != 0 {
		t.Fatal("a slowed-down attempt reached sshd")
	}
	time.Sleep(400 * time.Millisecond)
	r, body = postLogin(c, ts.URL, user, password)
	if r.StatusCode != http.StatusOK || body != user {
		t.Fatalf("login after the wait: %d %q", r.StatusCode, body)
	}
	var ck *http.Cookie
	for _, k := range r.Cookies() {
		if k.Name == CookieName {
			ck = k
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || len(ck.Value) != 64 || strings.Contains(ck.Value, password) {
		t.Fatalf("session cookie %+v", ck)
	}
	who, err := c.Get(ts.URL + "/whoami")
	if err != nil || who.StatusCode != http.StatusOK {
		t.Fatalf("whoami with the cookie: %v %v", who, err)
	}
	if r, _ := http.Get(ts.URL + "/whoami"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("whoami without a cookie: %d", r.StatusCode)
	}
}

func TestHostKeyNotTheNodesIsRefused(t *testing.T) {
	sshd := startSSHD(t, user, password)
	other := startSSHD(t, user, password) // another key
	ts, _ := newAgent(t, []ssh.PublicKey{other.hostKey}, sshd)
	r, body := postLogin(client(t), ts.URL, user, password)
	if r.StatusCode != http.StatusBadGateway {
		t.Fatalf("login to an sshd with a foreign host key: %d %q", r.StatusCode, body)
	}
}

func TestBadInputRefused(t *testing.T) {
	sshd := startSSHD(t, user, password)
	ts, _ := newAgent(t, []ssh.PublicKey{sshd.hostKey}, sshd)
	req, _ := http.NewRequest("POST", ts.URL+"/login", strings.NewReader(url.Values{"user": {user}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login: %v %v", r, err)
	}
	for _, u := range []string{"", "root;id", "-oProxyCommand", strings.Repeat("a", 40)} {
		if r, _ := postLogin(client(t), ts.URL, u, password); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("login %q: %d", u, r.StatusCode)
		}
	}
}

// TestTerminalReattachesToItsShell: a terminal is a tmux session on the
// node; a dropped websocket and a new one find the same shell, and a
// second terminal is another shell.
func TestTerminalReattachesToItsShell(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux not installed: scripts/deps installs it")
		}
		t.Skip("tmux not installed (scripts/deps installs it)")
	}
	sshd := startSSHD(t, user, password)
	ts, srv := newAgent(t, []ssh.PublicKey{sshd.hostKey}, sshd)
	c := client(t)
	if r, body := postLogin(c, ts.URL, user, password); r.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %q", r.StatusCode, body)
	}
	u, _ := url.Parse(ts.URL)
	dial := func(n int, origin string) (*websocket.Conn, *http.Response, error) {
		h := http.Header{"Origin": {origin}}
		for _, k := range c.Jar.Cookies(u) {
			h.Add("Cookie", k.Name+"="+k.Value)
		}
		return websocket.DefaultDialer.Dial(fmt.Sprintf("ws://%s/term/%d?cols=100&rows=30", u.Host, n), h)
	}
	if _, r, err := dial(1, "http://evil.example"); err == nil || r.StatusCode != http.StatusForbidden {
		t.Fatalf("websocket from another origin: %v", err)
	}
	ws, _, err := dial(1, ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	typeAndWait(t, ws, "MARK=$((6*7)); echo mark-$MARK\r", "mark-42")
	if _, terms := srv.Terminals(); terms != 1 {
		t.Errorf("terminals open: %d", terms)
	}
	ws.WriteMessage(websocket.TextMessage, []byte(`{"cols":120,"rows":40}`))
	typeAndWait(t, ws, "echo size-$(tput cols)x$(tput lines)\r", "size-120x39") // tmux's status line takes a row
	ws.Close()

	ws2, _, err := dial(2, ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	typeAndWait(t, ws2, "echo other-${MARK:-unset}\r", "other-unset")
	ws2.Close()

	ws, _, err = dial(1, ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	typeAndWait(t, ws, "echo again-$MARK\r", "again-42")
}

func typeAndWait(t *testing.T, ws *websocket.Conn, keys, want string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.BinaryMessage, []byte(keys)); err != nil {
		t.Fatal(err)
	}
	var seen bytes.Buffer
	ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %q: %v; terminal showed %q", want, err, seen.String())
		}
		seen.Write(data)
		// The echo of what was typed holds the command, not its output.
		if strings.Count(seen.String(), want) > strings.Count(keys, want) {
			return
		}
	}
}

func httptestServer(t *testing.T, srv *Server) string {
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

// sshd drops some handshakes when many arrive at once (MaxStartups): the
// agent tries again instead of answering 502.
func TestDroppedHandshakeIsTriedAgain(t *testing.T) {
	sshd := startSSHD(t, user, password)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if accepted.Add(1) <= 2 { // as sshd's random early drop does: close before the banner
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
				continue
			}
			go func() {
				up, err := net.Dial("tcp", sshd.addr)
				if err != nil {
					c.Close()
					return
				}
				go func() { io.Copy(up, c); up.Close() }()
				io.Copy(c, up)
				c.Close()
			}()
		}
	}()
	ts, _ := newAgent(t, []ssh.PublicKey{sshd.hostKey}, &testSSHD{addr: ln.Addr().String()})
	if r, body := postLogin(client(t), ts.URL, user, password); r == nil || r.StatusCode != http.StatusOK {
		t.Fatalf("login through an sshd that dropped two handshakes: %v %q", r, body)
	}
	if n := accepted.Load(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
}
