package reset

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/labctl/labctl/templates"
)

func TestScriptsRenderAndParse(t *testing.T) {
	for _, name := range []string{"record", "soft", "hard", "rotate"} {
		s, err := Script(name, "k8s")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s, "U='k8s'") || !strings.Contains(s, "fingerprint") {
			t.Errorf("%s: %s", name, s)
		}
		// bash -n: the rendered script parses.
		cmd := exec.Command("bash", "-n")
		cmd.Stdin = strings.NewReader(s)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: bash -n: %v: %s", name, err, out)
		}
	}
}

// A login that could end the quote or run a command never reaches a node:
// the rendering fails. One the scripts accept runs as one word: bash, given
// the rendered first line, sees exactly the login.
func TestScriptsRefuseHostileLogin(t *testing.T) {
	for _, user := range []string{"k8s'; rm -rf / #", "$(id)", "a b", "-rf", "k8s\nx", "`id`", "", "~root", "a\"b"} {
		for _, name := range []string{"record", "soft", "hard", "rotate"} {
			if s, err := Script(name, user); err == nil {
				t.Errorf("%s: user %q rendered:\n%s", name, user, s)
			}
		}
	}
	for _, user := range []string{"k8s", "attendee.1", "a_b-c"} {
		s, err := Script("soft", user)
		if err != nil {
			t.Fatalf("%q: %v", user, err)
		}
		first := s[strings.Index(s, "U="):]
		first = first[:strings.Index(first, "\n")]
		out, err := exec.Command("bash", "-c", first+`; printf %s "$U"`).Output()
		if err != nil || string(out) != user {
			t.Errorf("%q: bash saw %q (%v)", user, out, err)
		}
	}
}

// An existing login that is a system account or lives outside /home is
// refused by every node script before it changes anything: the guard is
// the first thing each script runs, and exits 3 for such an account.
func TestScriptsRefuseSystemLogin(t *testing.T) {
	for _, name := range []string{"record", "soft", "hard", "rotate"} {
		s, err := Script(name, "k8s")
		if err != nil {
			t.Fatal(err)
		}
		i := strings.Index(s, templates.LoginGuard)
		if i < 0 {
			t.Fatalf("%s: no login guard:\n%s", name, s)
		}
		// Before the guard: comments and the login's name, nothing else.
		for _, line := range strings.Split(s[:i], "\n") {
			if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "U=") {
				t.Errorf("%s: %q runs before the login guard", name, line)
			}
		}
		head := s[:i+len(templates.LoginGuard)]
		for _, c := range []struct {
			entry string
			ok    bool
		}{
			{"k8s:x:1001:1001::/home/k8s:/bin/bash", true},
			{"", true}, // no such user yet: nodeprep makes it under /home
			{"k8s:x:3:3:sys:/dev:/usr/sbin/nologin", false},
			{"k8s:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin", false},
			{"k8s:x:998:998::/home/k8s:/bin/bash", false},
			{"k8s:x:0:0::/home/k8s:/bin/bash", false},
			{"k8s:x:1001:1001::/:/bin/bash", false},
			{"k8s:x:1001:1001::/home:/bin/bash", false},
			{"k8s:x:1001:1001::/home/:/bin/bash", false},
			{"k8s:x:1001:1001::/home/..:/bin/bash", false},
			{"k8s:x:1001:1001::/home/../etc:/bin/bash", false},
			{"k8s:x:1001:1001::/home/k8s/../../etc:/bin/bash", false},
			{"k8s:x:1001:1001::/etc:/bin/bash", false},
			{"k8s:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin", false},
			{"k8s:x:abc:1001::/home/k8s:/bin/bash", false},
		} {
			// getent is the node's; here it answers with the entry.
			stub := "getent() { [ \"$1 $2\" = \"passwd $U\" ] && [ -n " + remoteQuote(c.entry) + " ] && echo " + remoteQuote(c.entry) + "; }\n"
			cmd := exec.Command("bash", "-euo", "pipefail", "-c", strings.Replace(head, "\n", "\n"+stub, 1)+"\necho guard=passed")
			out, err := cmd.CombinedOutput()
			passed := strings.Contains(string(out), "guard=passed")
			if passed != c.ok {
				t.Errorf("%s: entry %q: passed=%v, want %v: %v %s", name, c.entry, passed, c.ok, err, out)
			}
			if !c.ok && (!strings.Contains(string(out), "refusing to touch it") || strings.Count(strings.TrimSpace(string(out)), "\n") > 0) {
				t.Errorf("%s: entry %q: want one line saying it refuses: %s", name, c.entry, out)
			}
		}
	}
}

func remoteQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
