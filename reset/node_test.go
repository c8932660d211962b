package reset

import (
	"os/exec"
	"strings"
	"testing"
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
