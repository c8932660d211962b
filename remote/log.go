package remote

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Redacted replaces secrets in logs and errors.
const Redacted = "[REDACTED]"

// Redact replaces every secret in s, however short: a short secret is
// still a secret (lab files refuse short login passwords, so that this
// rarely shreds ordinary text). Longer secrets go first, so that one
// containing another is replaced whole.
func Redact(s string, secrets ...[]string) string {
	var all []string
	for _, list := range secrets {
		for _, sec := range list {
			if sec != "" {
				all = append(all, sec)
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return len(all[i]) > len(all[j]) })
	for _, sec := range all {
		s = strings.ReplaceAll(s, sec, Redacted)
	}
	return s
}

// MaxLogSize is the size past which a host's log file is rotated: it
// becomes NAME.log.1 (replacing the one before) and a new NAME.log starts,
// so a node keeps at most twice this on disk however long the class.
var MaxLogSize int64 = 4 << 20

// hostLog appends a host's commands and their output to its log file.
type hostLog struct {
	mu   sync.Mutex
	path string
}

func newHostLog(dir, host string) *hostLog {
	if dir == "" {
		return nil
	}
	name := strings.NewReplacer("/", "-", ":", "-", " ", "_").Replace(host) + ".log"
	return &hostLog{path: filepath.Join(dir, name)}
}

// write logs one command; its text is already redacted.
func (l *hostLog) write(line string, out []byte, status string, took time.Duration) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := l.open()
	if err != nil {
		return // a log we cannot write must not fail the command
	}
	defer f.Close()
	fmt.Fprintf(f, "%s $ %s\n", time.Now().Format(time.RFC3339), line)
	if len(out) > 0 {
		f.Write(out)
		if out[len(out)-1] != '\n' {
			f.Write([]byte("\n"))
		}
	}
	fmt.Fprintf(f, "# %s in %s\n", status, took.Round(time.Millisecond))
}

// note logs something the engine did on its own (a retry, a dropped
// connection); its text is already redacted.
func (l *hostLog) note(msg string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := l.open()
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s # labctl: %s\n", time.Now().Format(time.RFC3339), msg)
}

// open opens the log for appending, rotating it first when it is full.
func (l *hostLog) open() (*os.File, error) {
	if fi, err := os.Stat(l.path); err == nil && fi.Size() >= MaxLogSize {
		_ = os.Rename(l.path, l.path+".1")
	}
	return os.OpenFile(l.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
}
