package status

import (
	"strings"
	"testing"
)

func TestParseSessions(t *testing.T) {
	for _, c := range []struct {
		out  string
		want string
	}{
		{"labctl-status:kubeadm\nlabctl-status:sessions 1 3 2\n", "3 web, 1 ssh"}, // one sshd connection is the web terminal's
		{"labctl-status:sessions - - 2\n", "0 web, 2 ssh"},                        // no web terminal on this node
		{"labctl-status:sessions 0 0 0\n", "0 web, 0 ssh"},
		{"labctl-status:sessions 2 1 1\n", "1 web, 0 ssh"},
		{"labctl-status:sessions 1 1 -\n", "-"},                   // no pgrep
		{"labctl-status:sessions 1 1 99999999999\n", "-"},         // hostile
		{"labctl-status:sessions 1 1 2 extra\n", "-"},             // hostile
		{"labctl-status:sessions \x1b[31m 1 2\n", "0 web, 2 ssh"}, // hostile
		{"labctl-status:sessions -1 -1 3\n", "0 web, 3 ssh"},      // counts file garbled
		{"", "-"},
	} {
		if got := parseSessions(c.out).String(); got != c.want {
			t.Errorf("%q: %s, want %s", c.out, got, c.want)
		}
	}
}

func TestSessionsCommandQuotesTheUser(t *testing.T) {
	if cmd := sessionsCommand("k8s"); !strings.Contains(cmd, `-u 'k8s' -f '^sshd(-session)?: k8s@'`) {
		t.Errorf("command %s", cmd)
	}
	if userOK("a'b") || userOK("$(id)") || !userOK("k8s") {
		t.Error("userOK lets a quote or a substitution through")
	}
}
