package remote

import (
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
// of SIGPIPE within a second of the reader going away, and the watchdog
// then kills the command's process group (sshd makes one per session; sudo
// without a terminal stays in it). The wrapper runs under sudo, so it may
// kill what sudo started. The group is read from /proc without a fork.
//
// The watchdog runs in a session of its own (setsid, util-linux), so that
// the wrapper stops it and its tail with one kill of that group when the
// command ends: a tail left behind would hold the session open. The kill
// is repeated once the watchdog's shell is reaped, for a tail it was
// forking at the first kill. The line runs in a subshell, so that its exit
// or exec does not skip this; the whole wrapper is one brace group, parsed
// before anything runs, so a syntax error in line starts no watchdog.
// Without setsid, tail or /proc the command runs as it did before, and the
// engine's bounded wait and dropped connection are the only stop.
func dieWithSession(line string) string {
	return `{ 2>/dev/null read -r labctl_pg < /proc/$$/stat; labctl_pg=${labctl_pg##*) }; labctl_pg=${labctl_pg#* }; labctl_pg=${labctl_pg#* }; labctl_pg=${labctl_pg%% *}
setsid sh -c 'tail -f /dev/null 2>/dev/null; [ $? -gt 128 ] && [ "$1" -gt 1 ] && kill -KILL "-$1"' labctl "${labctl_pg:-0}" </dev/null 2>/dev/null & labctl_watchdog=$!
(
` + line + `
)
labctl_rc=$?; kill -TERM "-$labctl_watchdog" "$labctl_watchdog" 2>/dev/null; wait "$labctl_watchdog" 2>/dev/null; kill -TERM "-$labctl_watchdog" 2>/dev/null; exit $labctl_rc
}`
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
