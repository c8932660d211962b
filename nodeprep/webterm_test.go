package nodeprep

import (
	"strconv"
	"strings"
	"testing"
)

// TestWebTermStepGolden: node1's browser terminal, plain and with TLS on
// a low port, and taken away when switched off; no other node has it.
func TestWebTermStepGolden(t *testing.T) {
	up := Uploads{WebTerm: []File{{Source: "/cache/labctl-webterm", SHA256: "ab12", Dest: "/var/lib/labctl/stage/labctl-webterm", Mode: 0o755}}}
	for _, c := range []struct {
		name string
		wt   WebTerm
	}{
		{"webterm", WebTerm{Enabled: true, Port: 1080}},
		{"webterm-tls", WebTerm{Enabled: true, Port: 443, TLS: true}},
		{"webterm-off", WebTerm{Enabled: false, Port: 1080}},
	} {
		d := sampleData("cache")
		d.Node = "node1"
		c.wt.User, c.wt.AssetDir = WebTermUser, WebTermAssets
		d.WebTerm = &c.wt
		steps, err := Steps(d, up)
		if err != nil {
			t.Fatal(err)
		}
		last := steps[len(steps)-1]
		if last.Name != "webterm" {
			t.Fatalf("%s: last step is %s", c.name, last.Name)
		}
		checkGolden(t, c.name, last.Script+"# check: "+last.Check+"\n")
		if c.wt.Enabled != (len(last.Files) == 1) {
			t.Errorf("%s: files %v", c.name, last.Files)
		}
	}
	steps, err := Steps(sampleData("cache"), up)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.Name == "webterm" {
			t.Errorf("node2 has a webterm step")
		}
	}
}

// TestWebTermPortChangeRerunsStep: a new port is a new digest.
func TestWebTermPortChangeRerunsStep(t *testing.T) {
	digest := func(port int) string {
		d := sampleData("cache")
		d.WebTerm = &WebTerm{Enabled: true, Port: port, User: WebTermUser, AssetDir: WebTermAssets}
		steps, err := Steps(d, Uploads{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			if s.Name == "webterm" {
				if !strings.Contains(s.Script, "-listen :"+itoa(port)+" ") {
					t.Errorf("the unit does not listen on %d", port)
				}
				return s.Digest()
			}
		}
		t.Fatal("no webterm step")
		return ""
	}
	if digest(1080) == digest(1081) {
		t.Error("a port change keeps the digest: a re-run would not move the terminal")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
