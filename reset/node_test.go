package reset

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labctl/labctl/coins/mirror"
	"github.com/labctl/labctl/lab"
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
		i := strings.Index(s, lab.LoginGuard)
		if i < 0 {
			t.Fatalf("%s: no login guard:\n%s", name, s)
		}
		// Before the guard: comments and the login's name, nothing else.
		for _, line := range strings.Split(s[:i], "\n") {
			if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "U=") {
				t.Errorf("%s: %q runs before the login guard", name, line)
			}
		}
		head := s[:i+len(lab.LoginGuard)]
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

// fingerprint runs the scripts' fingerprint with ctr answering listing and
// the mirror's layout at m (issue 17, finding 8).
func fingerprint(t *testing.T, listing, m string) string {
	t.Helper()
	var b strings.Builder
	if err := scripts.ExecuteTemplate(&b, "common", struct{ User, Mirror string }{"k8s", m}); err != nil {
		t.Fatal(err)
	}
	stubs := "getent() { echo 'k8s:x:1001:1001::/home/k8s-nowhere:/bin/bash'; }\nsystemctl() { return 1; }\nctr() { printf '%s' " + remoteQuote(listing) + "; }\n"
	cmd := exec.Command("bash", "-c", stubs+b.String()+"\nB="+remoteQuote(t.TempDir())+"\nfingerprint")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fingerprint: %v: %s", err, out)
	}
	return string(out)
}

// A preloaded name pointed at other content changes the fingerprint (by
// digest, not name); so does any change to the mirror's files, and a blob
// whose content is not its digest is named.
func TestFingerprintSeesDigestsAndTheMirror(t *testing.T) {
	if MirrorLayout != mirror.DefaultLayout {
		t.Fatalf("MirrorLayout %s, the mirror's %s", MirrorLayout, mirror.DefaultLayout)
	}
	head := "REF TYPE DIGEST SIZE PLATFORMS LABELS\n"
	a := head + "docker.io/library/redis:7.0 application/vnd.oci.image.index.v1+json sha256:aaaa 40.0 MiB linux/amd64 -\n"
	b := head + "docker.io/library/redis:7.0 application/vnd.oci.image.index.v1+json sha256:bbbb 40.0 MiB linux/amd64 -\n"
	m := t.TempDir()
	blobs := filepath.Join(m, "blobs", "sha256")
	os.MkdirAll(blobs, 0o755)
	content := []byte("the layer labctl put there")
	sum := fmt.Sprintf("%x", sha256.Sum256(content))
	os.WriteFile(filepath.Join(blobs, sum), content, 0o644)
	os.WriteFile(filepath.Join(m, "index.json"), []byte(`{"manifests":[]}`), 0o644)

	fa, fb := fingerprint(t, a, m), fingerprint(t, b, m)
	line := func(fp, key string) string {
		for _, l := range strings.Split(fp, "\n") {
			if strings.HasPrefix(l, key+" ") {
				return l
			}
		}
		return ""
	}
	if line(fa, "containerd-images") == "" || line(fa, "containerd-images") == line(fb, "containerd-images") {
		t.Errorf("a re-pointed redis:7.0 does not change the fingerprint:\n%s\n%s", fa, fb)
	}
	if line(fa, "mirror") == "" || strings.Contains(fa, "mirror-blobs-altered") {
		t.Fatalf("the mirror's line: %s", fa)
	}
	// Same name and size, other content.
	os.WriteFile(filepath.Join(blobs, sum), []byte("the layer an attendee put th"), 0o644)
	fc := fingerprint(t, a, m)
	if line(fc, "mirror") == line(fa, "mirror") || !strings.Contains(fc, "mirror-blobs-altered "+sum) {
		t.Errorf("an altered blob is not seen:\n%s\n%s", fa, fc)
	}
	// No mirror on the node: no mirror line.
	if fn := fingerprint(t, a, filepath.Join(m, "none")); strings.Contains(fn, "mirror") {
		t.Errorf("no mirror, yet: %s", fn)
	}
}
