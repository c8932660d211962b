package local

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Local nodes share this machine's kernel, and with it the per-user inotify
// limits: every node's systemd, containerd and kubelet take inotify
// instances from the same pool of 128 (Debian's default), and past it the
// kubelet cannot start ("inotify_init: too many open files"). Ten nodes
// were enough to hit it.
const (
	inotifyPerNode    = 64
	inotifyBase       = 512
	inotifyWatchesMin = 524288
)

// hostLimit is one /proc/sys setting local nodes need at least Want of.
type hostLimit struct {
	Key  string // fs.inotify.max_user_instances
	Want int
}

func hostLimits(nodes int) []hostLimit {
	return []hostLimit{
		{"fs.inotify.max_user_instances", inotifyBase + inotifyPerNode*nodes},
		{"fs.inotify.max_user_watches", inotifyWatchesMin},
	}
}

// Sysctl reads and writes kernel settings ("fs.inotify.max_user_watches").
type Sysctl interface {
	Get(key string) (int, error)
	Set(key string, v int) error
}

// ProcSys is the Sysctl of /proc/sys (or another root, for tests).
type ProcSys string

func (r ProcSys) path(key string) string {
	return filepath.Join(string(r), strings.ReplaceAll(key, ".", "/"))
}

func (r ProcSys) Get(key string) (int, error) {
	data, err := os.ReadFile(r.path(key))
	if err != nil {
		return 0, err
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", strings.TrimSpace(string(data)))
	}
	return v, nil
}

func (r ProcSys) Set(key string, v int) error {
	return os.WriteFile(r.path(key), []byte(strconv.Itoa(v)+"\n"), 0o644)
}

// EnsureHostLimits raises the kernel limits that many node containers
// need, never lowers them, and says what it changed.
func EnsureHostLimits(sys Sysctl, nodes int, out io.Writer) error {
	for _, l := range hostLimits(nodes) {
		have, err := sys.Get(l.Key)
		if err != nil {
			return fmt.Errorf("%s: %w", l.Key, err)
		}
		if have >= l.Want {
			continue
		}
		if err := sys.Set(l.Key, l.Want); err != nil {
			return fmt.Errorf("%s is %d and %d local nodes need %d; as root: sysctl -w %s=%d (%v)", l.Key, have, nodes, l.Want, l.Key, l.Want, err)
		}
		fmt.Fprintf(out, "    raised %s from %d to %d: the %d nodes share this machine's kernel\n", l.Key, have, l.Want, nodes)
	}
	return nil
}
