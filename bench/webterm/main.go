// Command webterm measures the browser terminal against plain SSH on one
// node1, side by side in one run: N websocket clients (browsers' worth of
// terminals) and N SSH sessions with a pty, each typing a token every interval
// and timing its echo (see token); then the agent's memory per terminal.
//
//	go run ./bench/webterm -url http://NODE1:1080/ -ssh NODE1:22 -user k8s -password ... -n 30
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/ssh"
)

func main() {
	base := flag.String("url", "", "the card's web terminal URL")
	sshAddr := flag.String("ssh", "", "node1's sshd (host:22)")
	user := flag.String("user", "k8s", "attendee login")
	n := flag.Int("n", 30, "concurrent terminals")
	keys := flag.Int("keys", 200, "keystrokes per terminal")
	every := flag.Duration("every", 50*time.Millisecond, "time between keystrokes")
	stagger := flag.Duration("stagger", 100*time.Millisecond, "time between two terminals' opening (all at once: 0)")
	plainFirst := flag.Bool("plain-first", false, "measure plain ssh before the web terminal")
	hostKey := flag.String("hostkey", "", "node1's pinned host key (authorized_keys format: the node's hostKey in state.json)")
	flag.Parse()
	password := os.Getenv("LABCTL_BENCH_PASSWORD")
	pinned, _, _, _, kerr := ssh.ParseAuthorizedKey([]byte(*hostKey))
	if *base == "" || *sshAddr == "" || password == "" || kerr != nil {
		fmt.Fprintln(os.Stderr, "usage: LABCTL_BENCH_PASSWORD=... webterm -url URL -ssh HOST:22 -hostkey 'ssh-ed25519 AAAA...' [-user k8s] [-n 30]")
		os.Exit(2)
	}
	idle, err := agentRSS(*sshAddr, *user, password, pinned)
	if err != nil {
		fmt.Fprintln(os.Stderr, "the agent's memory:", err)
		os.Exit(1)
	}
	webRun := func() ([]time.Duration, int) {
		stop := make(chan struct{})
		peak := make(chan int)
		go func() { peak <- peakRSS(*sshAddr, *user, password, pinned, stop) }()
		d := run(*n, func(i int) (io.Writer, io.Reader, func(), error) { return webTerm(*base, *user, password, 50+i) }, *keys, *every, *stagger)
		close(stop)
		return d, <-peak
	}
	plainRun := func() []time.Duration {
		return run(*n, func(i int) (io.Writer, io.Reader, func(), error) { return sshTerm(*sshAddr, *user, password, pinned) }, *keys, *every, *stagger)
	}
	// One after the other, not at once (each would load the node for the
	// other); -plain-first swaps the order, to see what the machine's load
	// changing between the two halves does.
	var web, plain []time.Duration
	var top int
	if *plainFirst {
		plain = plainRun()
		web, top = webRun()
	} else {
		web, top = webRun()
		plain = plainRun()
	}
	fmt.Printf("| %d terminals | echo median | echo p99 |\n|---|---|---|\n", *n)
	fmt.Printf("| web terminal | %s | %s |\n| plain ssh | %s | %s |\n", pct(web, 50), pct(web, 99), pct(plain, 50), pct(plain, 99))
	fmt.Printf("ratio web/ssh: median %.2f, p99 %.2f\n", ratio(web, plain, 50), ratio(web, plain, 99))
	fmt.Printf("echoes measured: web %d, ssh %d, of %d each\n", len(web), len(plain), *n**keys)
	fmt.Printf("agent's memory (VmRSS): %d KiB idle, %d KiB at most with %d terminals open: %.0f KiB per terminal\n",
		idle, top, *n, float64(top-idle)/float64(*n))
}

// Each keystroke is a token, "{N}" with N the keystroke's number, sent in
// one write (as a fast typist's or a paste's bytes arrive) and followed by
// a carriage return that is not timed, so that every token has a line of
// its own. A token is unique: tmux redraws lines it has shown before (more
// often under load), and a redraw can only hold tokens already echoed, so
// the first time a token shows up in the output is its echo. Single
// characters could not tell a redraw from an echo: a first version of this
// bench measured 20µs "echoes" at 30 terminals that were redraws.
func token(k int) string { return fmt.Sprintf("{%d}", k) }

// run opens n terminals, starts `cat` in each (an echo without a prompt),
// types keys tokens per terminal and returns every echo's latency.
func run(n int, open func(int) (io.Writer, io.Reader, func(), error), keys int, every, stagger time.Duration) []time.Duration {
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			time.Sleep(time.Duration(i) * stagger)
			w, r, done, err := open(i)
			if err != nil {
				fmt.Fprintln(os.Stderr, "terminal", i, err)
				return
			}
			defer done()
			fmt.Fprint(w, "stty -echoctl; exec cat\r")
			out := reader(r)
			time.Sleep(2 * time.Second)
			drain(out, 500*time.Millisecond)
			// A terminal reattached from an earlier run holds lower numbers.
			base := int(time.Now().UnixNano()%1e6) * 1000
			for k := 0; k < keys; k++ {
				tok := token(base + k)
				start := time.Now()
				io.WriteString(w, tok)
				if !waitFor(out, tok, 5*time.Second) {
					fmt.Fprintln(os.Stderr, "terminal", i, "lost an echo")
					return
				}
				mu.Lock()
				all = append(all, time.Since(start))
				mu.Unlock()
				io.WriteString(w, "\r")
				time.Sleep(every)
			}
		}(i)
	}
	wg.Wait()
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return all
}

// reader turns a terminal's output into a channel of bytes: one goroutine
// per terminal, so that waiting for an echo never leaves a reader behind
// that would swallow the next one.
func reader(r io.Reader) <-chan byte {
	ch := make(chan byte, 1<<16)
	go func() {
		defer close(ch)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			for _, b := range buf[:n] {
				ch <- b
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// waitFor reads the output until tok has appeared in its text: escape
// sequences (tmux's cursor moves and colours) and control characters are
// skipped, so a token split by a line wrap is still found.
func waitFor(out <-chan byte, tok string, within time.Duration) bool {
	deadline := time.After(within)
	var text []byte
	var esc escapes
	for {
		select {
		case b, ok := <-out:
			if !ok {
				return false
			}
			if !esc.text(b) {
				continue
			}
			text = append(text, b)
			if len(text) > len(tok) {
				text = text[1:]
			}
			if string(text) == tok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// escapes follows a terminal's output byte by byte and tells text from
// escape sequences: CSI (ESC [ ... final byte), OSC (ESC ] ... BEL or ESC \),
// charset selections (ESC ( B) and other two-byte sequences.
type escapes struct{ state byte }

func (e *escapes) text(b byte) bool {
	switch e.state {
	case 0:
		if b == 0x1b {
			e.state = 'E'
			return false
		}
		return b >= 0x20 && b != 0x7f
	case 'E':
		switch b {
		case '[':
			e.state = '['
		case ']':
			e.state = ']'
		case '(', ')', '#':
			e.state = '('
		default:
			e.state = 0
		}
	case '[':
		if b >= 0x40 && b <= 0x7e {
			e.state = 0
		}
	case ']':
		if b == 0x07 {
			e.state = 0
		} else if b == 0x1b {
			e.state = '(' // the backslash of ESC \
		}
	case '(':
		e.state = 0
	}
	return false
}

// drain discards output until the terminal has been quiet for d.
func drain(out <-chan byte, d time.Duration) {
	for {
		select {
		case _, ok := <-out:
			if !ok {
				return
			}
		case <-time.After(d):
			return
		}
	}
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, len(d)*p/100)].Round(10 * time.Microsecond)
}

func ratio(a, b []time.Duration, p int) float64 {
	if pct(b, p) == 0 {
		return 0
	}
	return float64(pct(a, p)) / float64(pct(b, p))
}

// webTerm logs in and opens terminal number term over a websocket.
func webTerm(base, user, password string, term int) (io.Writer, io.Reader, func(), error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.PostForm(strings.TrimSuffix(base, "/")+"/login", url.Values{"user": {user}, "password": {password}})
	if err != nil {
		return nil, nil, nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, nil, nil, fmt.Errorf("login: %s", resp.Status)
	}
	u, _ := url.Parse(base)
	h := http.Header{"Origin": {u.Scheme + "://" + u.Host}}
	for _, k := range jar.Cookies(u) {
		h.Add("Cookie", k.Name+"="+k.Value)
	}
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(strings.TrimSuffix(base, "/"), "http", "ws", 1)+fmt.Sprintf("/term/%d", term), h)
	if err != nil {
		return nil, nil, nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			pw.Write(data)
		}
	}()
	return wsWriter{ws}, pr, func() { ws.Close() }, nil
}

type wsWriter struct{ ws *websocket.Conn }

func (w wsWriter) Write(p []byte) (int, error) {
	return len(p), w.ws.WriteMessage(websocket.BinaryMessage, p)
}

// sshTerm is the same terminal over plain SSH (a login shell with a pty).
func sshTerm(addr, user, password string, pinned ssh.PublicKey) (io.Writer, io.Reader, func(), error) {
	c, err := dial(addr, user, password, pinned)
	if err != nil {
		return nil, nil, nil, err
	}
	s, err := c.NewSession()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := s.RequestPty("xterm-256color", 24, 80, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		return nil, nil, nil, err
	}
	w, _ := s.StdinPipe()
	r, _ := s.StdoutPipe()
	if err := s.Shell(); err != nil {
		return nil, nil, nil, err
	}
	return w, r, func() { s.Close(); c.Close() }, nil
}
