package remote

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"
)

// stopGrace is how long a stopped session may take to end before its
// connection is dropped, and then how long the drop may take.
const stopGrace = 3 * time.Second

// dieWithSession wraps a command line so that the command dies with its
// SSH session. Stopping a remote command cannot rely on "signal" requests:
// OpenSSH refuses them for root logins and forced commands, and under sudo
// a signal reaches only sudo. What every server does is close its end of
// the command's standard output when the session or its connection ends.
//
// A watchdog holds that pipe too: `tail -f` (GNU coreutils >= 8.28) dies
// of SIGPIPE within a second of the reader going away. The watchdog is a
// subshell of the wrapper (a fork, no exec: at hundreds of hosts the
// wrapper's cost is most of what a short command costs the node); when
// the command ends first, the wrapper stops it with SIGTERM and its trap
// kills tail with SIGKILL (a TERM could land between tail's fork and its
// exec, where the shell's handler would swallow it).
//
// When tail dies of SIGPIPE, the watchdog leaves the command's process
// group (setsid, util-linux) and sweeps: it kills that group (sshd makes
// one per session; sudo without a terminal stays in it; the wrapper runs
// under sudo, so it may kill what sudo started), then every process whose
// environment carries this run's mark, until none is left: what the
// command started in a session of its own (setsid, a daemon's double fork)
// carries the mark. The group is read from /proc without a fork; the sweep
// costs nothing unless the session ended first.
//
// The line runs in a subshell, so that its exit or exec does not skip
// stopping the watchdog; the whole wrapper is one brace group, parsed
// before anything runs, so a syntax error in line starts no watchdog.
// Without setsid, tail or /proc the command runs as it did before, and the
// engine's bounded wait and dropped connection are the only stop. run must
// be a shell word (the engine makes it from hex digits).
func dieWithSession(line, run string) string {
	return `{ 2>/dev/null read -r labctl_pg < /proc/$$/stat; labctl_pg=${labctl_pg##*) }; labctl_pg=${labctl_pg#* }; labctl_pg=${labctl_pg#* }; labctl_pg=${labctl_pg%% *}
( trap 'kill -KILL $! 2>/dev/null; exit 0' TERM; tail -f /dev/null 2>/dev/null & wait $!; [ $? -eq 141 ] && exec setsid sh -c '` + sweep + `' labctl "${labctl_pg:-0}" ` + run + ` ) </dev/null 2>/dev/null & labctl_watchdog=$!
LABCTL_RUN=` + run + `; export LABCTL_RUN
(
` + line + `
)
labctl_rc=$?; kill "$labctl_watchdog" 2>/dev/null; exit $labctl_rc
}`
}

// sweep is the watchdog's last act, in a session of its own: $1 is the
// command's process group, $2 its run mark. A marked process forking while
// it runs leaves a marked child for the next round. grep's status says
// nothing here: processes that end while it reads make it 2.
const sweep = `[ "$1" -gt 1 ] && kill -KILL "-$1"; n=0; while [ $n -lt 50 ]; do p=$(grep -lsxzF "LABCTL_RUN=$2" /proc/[0-9]*/environ); [ -n "$p" ] || exit 0; for p in $p; do p=${p#/proc/}; kill -KILL "${p%/environ}"; done; n=$((n+1)); done`

// runMark is a fresh mark for one command's processes.
func runMark() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// stop ends a session whose context ended: a signal for the servers that
// take one, then closing the session, which the command's watchdog sees.
// A session still open after stopGrace takes its connection with it (the
// host then closes every pipe of the command); the wait is bounded
// either way.
func (x *sshHost) stop(sess *ssh.Session, c *client, done <-chan error) {
	_ = sess.Signal(ssh.SIGKILL)
	_ = sess.Close()
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	x.log.note("session did not close within " + stopGrace.String() + " of its stop: dropping the connection")
	x.e.drop(x.h, c)
	t.Reset(stopGrace)
	select {
	case <-done:
	case <-t.C:
	}
}

// lost marks err as ErrConnectionLost when c no longer answers: a failure
// of the transport, not of what was asked. Errors of SFTP and of session
// requests do not say which it was.
func (e *Engine) lost(h Host, c *client, err error) error {
	if err == nil || errors.Is(err, ErrConnectionLost) {
		return err
	}
	reply := make(chan error, 1)
	go func() {
		_, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil)
		reply <- err
	}()
	select {
	case alive := <-reply:
		if alive == nil {
			return err
		}
	case <-time.After(2 * time.Second):
	}
	e.drop(h, c)
	return fmt.Errorf("%w: %w", ErrConnectionLost, err)
}
