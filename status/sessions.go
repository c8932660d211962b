package status

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/labctl/labctl/remote"
)

// Sessions counts who is connected to a cluster's node1 right now: the
// web terminals open in browsers (labctl-webterm) and the attendee's SSH
// connections from elsewhere (an SSH connection the web terminal itself
// holds to node1's sshd is not one of them). `labctl board` shows it too.
type Sessions struct {
	Web int `json:"web"`
	SSH int `json:"ssh"`
}

// String is the SESSIONS cell: "2 web, 1 ssh".
func (s *Sessions) String() string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%d web, %d ssh", s.Web, s.SSH)
}

const sessionsTag = "labctl-status:sessions"

// countsFile is what labctl-webterm writes: "LOGINS TERMINALS".
const countsFile = "/run/labctl-webterm/counts"

// sessionsCommand prints "labctl-status:sessions LOGINS TERMINALS SSHD":
// the web terminal's counts ("- -" without one) and the number of sshd
// processes serving user (one per connection: its title is
// "sshd: USER@pts/0", "sshd-session: USER@notty" since OpenSSH 9.8). Shell
// builtins and one pgrep: it runs with every status probe.
func sessionsCommand(user string) string {
	pattern := remote.ShellQuote("^sshd(-session)?: " + user + "@")
	return fmt.Sprintf(`a=- b=-; { read -r a b < %s; } 2>/dev/null; s=$(pgrep -c -u %s -f %s 2>/dev/null); echo %s "${a:--}" "${b:--}" "${s:--}"`,
		countsFile, remote.ShellQuote(user), pattern, sessionsTag)
}

// Node1Command is what node1 runs for status: whether kubeadm set it up,
// and who is connected.
func Node1Command(user string) string {
	return KubeadmCommand + "; " + sessionsCommand(user)
}

// parseSessions reads sessionsCommand's line from a node, which is hostile
// input: anything but small counts is "unknown" (nil).
func parseSessions(out string) *Sessions {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || f[0] != sessionsTag {
			continue
		}
		num := func(s string) (int, bool) {
			n, err := strconv.Atoi(s)
			return n, err == nil && n >= 0 && n <= 100000
		}
		logins, okL := num(f[1])
		terms, okT := num(f[2])
		sshd, okS := num(f[3])
		if !okS {
			return nil
		}
		s := &Sessions{SSH: sshd}
		if okL && okT {
			s.Web = terms
			s.SSH = max(0, sshd-logins) // the web terminal's own connections
		}
		return s
	}
	return nil
}

// userOK: a login name safe in a pgrep pattern (the state's, but checked).
func userOK(u string) bool {
	if u == "" || len(u) > 32 {
		return false
	}
	for _, c := range u {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
