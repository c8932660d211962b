package agent

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/ssh"
)

// upgrader refuses websockets from another origin (its default check).
var upgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 32 * 1024}

// Session is the command each terminal runs: a tmux session per terminal
// number, so that a reload or a dropped connection reattaches to the same
// shell (a plain login shell where tmux is missing).
func Session(n int) string {
	return fmt.Sprintf("if command -v tmux >/dev/null; then exec tmux new-session -A -s labctl-%d; else exec \"${SHELL:-/bin/sh}\" -l; fi", n)
}

// resize is the one control message the page sends (as a text frame);
// keystrokes come as binary frames, the terminal's output goes back as
// binary frames.
type resize struct {
	Cols, Rows int
}

func (s *Server) terminal(w http.ResponseWriter, r *http.Request) {
	l, _ := s.current(r)
	if l == nil {
		http.Error(w, "not logged in", http.StatusUnauthorized)
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || n > 99 {
		http.Error(w, "terminal number 1 to 99", http.StatusBadRequest)
		return
	}
	cols, rows := dim(r.URL.Query().Get("cols"), 80), dim(r.URL.Query().Get("rows"), 24)
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	defer ws.Close()
	sess, err := l.client.NewSession()
	if err != nil {
		closeWith(ws, "the SSH connection ended: log in again")
		return
	}
	defer sess.Close()
	modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
	if err := sess.RequestPty("xterm-256color", rows, cols, modes); err != nil {
		closeWith(ws, "no terminal: "+err.Error())
		return
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		return
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return
	}
	sess.Stderr = nil // with a pty, stderr comes on stdout
	if err := sess.Start(Session(n)); err != nil {
		closeWith(ws, "could not start the terminal: "+err.Error())
		return
	}
	s.attached(l, 1)
	defer s.attached(l, -1)

	var wmu sync.Mutex // gorilla allows one writer at a time
	done := make(chan struct{})
	go func() { // the shell's output to the browser
		defer close(done)
		defer ws.Close() // the shell ended: the read loop below ends too
		buf := make([]byte, 32*1024)
		for {
			k, err := stdout.Read(buf)
			if k > 0 {
				wmu.Lock()
				ws.SetWriteDeadline(time.Now().Add(30 * time.Second))
				werr := ws.WriteMessage(websocket.BinaryMessage, buf[:k])
				wmu.Unlock()
				if werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { // keep idle connections through NATs and proxies alive
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				wmu.Lock()
				err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second))
				wmu.Unlock()
				if err != nil {
					return
				}
			}
		}
	}()
	ws.SetReadLimit(1 << 20)
	for {
		kind, data, err := ws.ReadMessage()
		if err != nil {
			break // the page went away: tmux keeps the shell
		}
		switch kind {
		case websocket.BinaryMessage:
			stdin.Write(data) // a closed shell shows as the output ending
		case websocket.TextMessage:
			var rs resize
			if json.Unmarshal(data, &rs) == nil && rs.Cols > 0 && rs.Rows > 0 && rs.Cols <= 1000 && rs.Rows <= 1000 {
				sess.WindowChange(rs.Rows, rs.Cols)
			}
		}
	}
	sess.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		log.Printf("terminal %d of %q: output did not end after close", n, l.user)
	}
}

func dim(s string, def int) int {
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 || v > 1000 {
		return def
	}
	return v
}

func closeWith(ws *websocket.Conn, msg string) {
	ws.WriteMessage(websocket.BinaryMessage, []byte("\r\n\x1b[31m"+msg+"\x1b[0m\r\n"))
	ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
}
