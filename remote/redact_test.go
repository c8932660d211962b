package remote

import "testing"

// A short secret is still a secret: it is redacted, however much ordinary
// text that costs (lab files no longer accept short login passwords).
func TestRedactShortSecrets(t *testing.T) {
	for _, c := range []struct {
		in      string
		secrets []string
		want    string
	}{
		{"echo pw=abc", []string{"abc"}, "echo pw=" + Redacted},
		{"x", []string{"x"}, Redacted},
		{"nothing to hide", []string{""}, "nothing to hide"},
		{"k8s:abcde-fghjk-mnpqr", []string{"abcde-fghjk-mnpqr"}, "k8s:" + Redacted},
	} {
		if got := Redact(c.in, c.secrets); got != c.want {
			t.Errorf("Redact(%q, %q) = %q, want %q", c.in, c.secrets, got, c.want)
		}
	}
}

func TestRedactLongestFirst(t *testing.T) {
	if got := Redact("pw abcdef", []string{"abc", "abcdef"}); got != "pw "+Redacted {
		t.Fatalf("got %q", got)
	}
}
