package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labctl/labctl/lab"
)

// JSON output hides secrets unless --show-secrets asks for them.
func TestJSONHidesSecretsUnlessAsked(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lab.yaml")
	os.WriteFile(file, []byte("name: i10a-secrets\n"), 0o644)
	stateDir := filepath.Join(dir, "state")
	st, err := lab.Open(stateDir, "i10a-secrets", 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	const pw = "abcde-fghjk-mnpqr"
	st.Save(&lab.State{Lab: "i10a-secrets", Clusters: []lab.Cluster{{
		Index: 1, Login: lab.Login{User: "k8s", Password: pw},
		Nodes: []lab.Node{{Name: "node1", PublicAddress: "203.0.113.1", Port: 22}},
	}}})
	st.Close()
	out := captureStdout(t, func() {
		if msg, code := runCLI(t, "-f", file, "--state-dir", stateDir, "--json", "cards", "-o", "-"); code != 0 {
			t.Fatalf("cards --json: %d %s", code, msg)
		}
	})
	if strings.Contains(out, pw) || !strings.Contains(out, `"login": "k8s"`) {
		t.Fatalf("cards --json must leave the password out:\n%s", out)
	}
	out = captureStdout(t, func() {
		if msg, code := runCLI(t, "-f", file, "--state-dir", stateDir, "--json", "--show-secrets", "cards", "-o", "-"); code != 0 {
			t.Fatalf("cards --json --show-secrets: %d %s", code, msg)
		}
	})
	if !strings.Contains(out, `"password": "`+pw+`"`) {
		t.Fatalf("--show-secrets must include the password:\n%s", out)
	}
	// The printed cards are for attendees: they keep their passwords.
	out = captureStdout(t, func() { runCLI(t, "-f", file, "--state-dir", stateDir, "cards", "--format", "text", "-o", "-") })
	if !strings.Contains(out, pw) {
		t.Fatalf("text cards lost the password:\n%s", out)
	}
}

// captureStdout runs f with os.Stdout sent to a file, since commands
// write their output to os.Stdout.
func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stdout")
	w, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = old }()
	f()
	w.Close()
	data, _ := os.ReadFile(path)
	return string(data)
}

// status output (--json or not) redacts the lab's secrets: a phase error
// recorded from a node's output may quote one.
func TestStatusOutputHidesSecrets(t *testing.T) {
	s := &lab.State{Clusters: []lab.Cluster{{Index: 1, Login: lab.Login{User: "k8s", Password: "abcde-fghjk-mnpqr"}}}}
	l := &lab.Lab{}
	in := []byte(`{"last": {"error": "chpasswd: k8s:abcde-fghjk-mnpqr rejected"}}`)
	a := &app{}
	if got := string(a.hideSecrets(in, l, s)); strings.Contains(got, "abcde-fghjk-mnpqr") {
		t.Fatalf("secret printed: %s", got)
	}
	a.showSecrets = true
	if got := string(a.hideSecrets(in, l, s)); got != string(in) {
		t.Fatalf("--show-secrets changed the output: %s", got)
	}
}
