package phase

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/labctl/labctl/remote"
)

var update = flag.Bool("update", false, "rewrite golden files")

// mirrorBinaries writes stand-in labctl-mirror binaries.
func mirrorBinaries(t *testing.T) map[string]string {
	dir := t.TempDir()
	bins := map[string]string{}
	for _, arch := range []string{"amd64", "arm64"} {
		bins[arch] = filepath.Join(dir, arch)
		if err := os.WriteFile(bins[arch], []byte("labctl-mirror for "+arch), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bins
}

func mirrorPhase(t *testing.T, nodes ...remote.Executor) *Phase {
	t.Helper()
	return newPhase(t, Config{Mirror: mirrorBinaries(t), Context: on(nil, nodes...)})
}

// onNodes points p at these nodes (by label), keeping its output.
func onNodes(p *Phase, nodes ...remote.Executor) {
	c := on(p.Out, nodes...)
	p.State, p.Exec = c.State, c.Exec
}

func stampOf(t *testing.T, p *Phase, arch string) string {
	_, stamp, err := p.renderMirror(arch)
	if err != nil {
		t.Fatal(err)
	}
	return stamp
}

func TestMirrorScriptGolden(t *testing.T) {
	p := mirrorPhase(t)
	script, stamp, err := p.renderMirror("amd64")
	if err != nil {
		t.Fatal(err)
	}
	script = strings.ReplaceAll(script, stamp, "STAMP")
	golden := filepath.Join("testdata", "mirror.sh.golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(golden, []byte(script), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./coins/phase -update)", err)
	}
	if script != string(want) {
		t.Errorf("the mirror script differs from %s; if intended, run go test ./coins/phase -update\n%s", golden, script)
	}
	if other := stampOf(t, p, "arm64"); other == stamp {
		t.Error("amd64 and arm64 installs have the same stamp (their binaries differ)")
	}
	if _, _, err := p.renderMirror("riscv64"); err == nil {
		t.Error("an install for an arch without a binary rendered")
	}
}

func TestPreloadInstallsMirror(t *testing.T) {
	p := mirrorPhase(t)
	fresh := newNode("01/node1").answers(listImages, "", allImages).
		answers(probeMirror, "x86_64 none inactive\n", "x86_64 STAMP active\n")
	fresh.On(`^# preload: import `, "", 0).On(`^rm -f `, "", 0).On(`^bash -euo pipefail -s$`, "", 0)
	// Images there, but an older mirror (another stamp): install, no import needed but done.
	stale := newNode("01/node2").answers(listImages, allImages).
		answers(probeMirror, "aarch64 0123456789abcdef active\n", "aarch64 STAMP active\n")
	stale.On(`^# preload: import `, "", 0).On(`^rm -f `, "", 0).On(`^bash -euo pipefail -s$`, "", 0)
	done := newNode("02/node1").answers(listImages, allImages).answers(probeMirror, "x86_64 "+stampOf(t, p, "amd64")+" active\n")
	stopped := newNode("03/node1").answers(listImages, allImages).
		answers(probeMirror, "x86_64 "+stampOf(t, p, "amd64")+" failed\n", "x86_64 STAMP active\n")
	stopped.On(`^systemctl enable labctl-mirror`, "", 0)

	var out bytes.Buffer
	p.Out = &out
	onNodes(p, fresh, stale, done, stopped)
	if err := p.Run(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	install := []string{listImages, probeMirror, "upload " + RemoteArchive, importImages, "upload " + mirrorUpload,
		installMirror, removeUpload, listImages, probeMirror}
	for _, n := range []*node{fresh, stale} {
		if got := n.Calls(); !slices.Equal(got, install) {
			t.Errorf("%s ran\n%q\nwant\n%q", n.Host, got, install)
		}
	}
	if got, ok := fresh.Uploaded(mirrorUpload); !ok || string(got) != "labctl-mirror for amd64" {
		t.Errorf("x86_64 node got %q as its mirror", got)
	}
	if got, _ := stale.Uploaded(mirrorUpload); string(got) != "labctl-mirror for arm64" {
		t.Errorf("aarch64 node got %q as its mirror", got)
	}
	script := string(fresh.stdin[installMirror])
	if !strings.Contains(script, "echo "+stampOf(t, p, "amd64")+" > "+MirrorStamp) || !strings.Contains(script, "install -m 0755 "+mirrorUpload+" "+MirrorBinary) {
		t.Errorf("install script:\n%s", script)
	}
	if got := done.Calls(); !slices.Equal(got, []string{listImages, probeMirror}) {
		t.Errorf("a node with images and this mirror ran %q, want only the probes", got)
	}
	if got, want := stopped.Calls(), []string{listImages, probeMirror, restartMirror, probeMirror}; !slices.Equal(got, want) {
		t.Errorf("a node whose mirror stopped ran %q, want %q", got, want)
	}
	for _, want := range []string{"01/node1: serving them as docker.io on 127.0.0.1:5999", "03/node1: restarted labctl-mirror.service"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestMirrorFailures(t *testing.T) {
	p := mirrorPhase(t)
	riscv := newNode("01/node1").answers(listImages, allImages).answers(probeMirror, "riscv64 none inactive\n")
	deadUnit := newNode("02/node1").answers(listImages, allImages).answers(probeMirror, "x86_64 none inactive\n")
	deadUnit.On(`^# preload: import `, "", 0).On(`^rm -f `, "", 0).On(`^bash -euo pipefail -s$`, "", 0)
	badScript := newNode("03/node1").answers(listImages, allImages).answers(probeMirror, "x86_64 none inactive\n")
	badScript.On(`^# preload: import `, "", 0).On(`^rm -f `, "", 0).
		On(`^bash -euo pipefail -s$`, "curl: (7) Failed to connect to 127.0.0.1 port 5999", 7)
	onNodes(p, riscv, deadUnit, badScript)
	err := p.Run(context.Background())
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"cluster 01: 01/node1: machine riscv64: labctl-mirror is built for amd64 and arm64 only",
		"cluster 02: 02/node1: labctl-mirror.service is not active after its install",
		`cluster 03: 03/node1: "bash -euo pipefail -s" exited 7: curl: (7) Failed to connect`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if !slices.Contains(badScript.Calls(), removeUpload) {
		t.Errorf("the archive was not removed after a failed install: %q", badScript.Calls())
	}
}

func TestMirrorProbesAndDryRun(t *testing.T) {
	n := newNode("01/node1").answers(listImages, allImages).answers(probeMirror, "x86_64 none inactive\n")
	p := mirrorPhase(t, n)
	probes, _ := p.Probes()
	if got := probes["01/node1"]; !slices.Equal(got, []string{listImages, probeMirror}) {
		t.Errorf("probes %q", got)
	}
	var out bytes.Buffer
	if err := p.DryRun(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	if got := n.Calls(); !slices.Equal(got, []string{listImages, probeMirror}) {
		t.Errorf("dry run ran %q", got)
	}
	if !strings.Contains(out.String(), "would install /usr/local/bin/labctl-mirror (amd64) and labctl-mirror.service over /var/lib/labctl/mirror") {
		t.Errorf("dry run said:\n%s", out.String())
	}
}
