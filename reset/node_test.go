package reset

import (
	"os/exec"
	"strings"
	"testing"
)

func TestScriptsRenderAndParse(t *testing.T) {
	for _, name := range []string{"record", "soft"} {
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

// A login that could end the quote or run a command never reaches a node.
func TestScriptsRefuseHostileLogin(t *testing.T) {
	for _, user := range []string{"k8s'; rm -rf / #", "$(id)", "a b", "-rf", "k8s\nx", "`id`", ""} {
		if s, err := Script("soft", user); err == nil {
			t.Errorf("user %q rendered:\n%s", user, s)
		}
	}
}
