package preload

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labctl/labctl/internal/golden"
)

const sum = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestScriptGolden(t *testing.T) {
	for name, a := range map[string]Archive{
		"import":  {Path: "/var/lib/labctl/stage/addon-image.tar", Refs: []string{"localhost/labctl/netcheck:abc", "redis:7"}},
		"records": {Path: "/var/lib/labctl/stage/images.tar", Refs: []string{"registry.k8s.io/pause:3.10.1", "registry.k8s.io/etcd:3.6.5-0", "registry.k8s.io/pause:3.10.1"}, Record: "/var/lib/labctl/steps/kubernetes.images", SHA256: sum},
	} {
		script, err := Script(a)
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, name+".sh.golden", script)
	}
}

// Nothing the shell would read gets into the script.
func TestScriptRefuses(t *testing.T) {
	for _, a := range []Archive{
		{Path: "stage/x.tar", Refs: []string{"a:1"}},
		{Path: "/x.tar; reboot", Refs: []string{"a:1"}},
		{Path: "/x.tar"},
		{Path: "/x.tar", Refs: []string{"a:1", "$(reboot)"}},
		{Path: "/x.tar", Refs: []string{"a:1\nb:2"}},
		{Path: "/x.tar", Refs: []string{"-a:1"}},
		{Path: "/x.tar", Refs: []string{"a:1"}, Record: "/r", SHA256: "abc"},
		{Path: "/x.tar", Refs: []string{"a:1"}, Record: "r'", SHA256: sum},
	} {
		if s, err := Script(a); err == nil {
			t.Errorf("%+v: no error, script:\n%s", a, s)
		}
	}
}

// The script run for real by sh and by bash -euo pipefail, within a
// longer script, against a ctr that lists the file list and, on import,
// adds the file brings to it.
func TestScriptRuns(t *testing.T) {
	for _, shell := range [][]string{{"sh"}, {"bash", "-euo", "pipefail"}} {
		if _, err := exec.LookPath(shell[0]); err != nil {
			t.Skip(err)
		}
		t.Run(shell[0], func(t *testing.T) { runs(t, shell) })
	}
}

func runs(t *testing.T, shell []string) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	ctr := `#!/bin/sh
case "$*" in
"-n k8s.io images ls -q") cat "$STATE/list" ;;
"-n k8s.io images import "*) echo "$5" >> "$STATE/imports"; cat "$STATE/brings" >> "$STATE/list" ;;
*) echo "ctr $*?" >&2; exit 9 ;;
esac
`
	os.WriteFile(filepath.Join(bin, "ctr"), []byte(ctr), 0o755)
	write := func(name, s string) { os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644) }
	read := func(name string) string { b, _ := os.ReadFile(filepath.Join(dir, name)); return string(b) }
	record := filepath.Join(dir, "steps", "kubernetes.images")
	run := func(a Archive) (string, error) {
		s, err := Script(a)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(shell[0], append(shell[1:], "-c", s+"echo after\n")...)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "STATE="+dir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	k8s := []string{"registry.k8s.io/pause:3.10.1", "registry.k8s.io/etcd:3.6.5-0"}
	const tar = "/var/lib/labctl/stage/images.tar"

	// Without a record: imported each time, and checked.
	write("list", "docker.io/library/redis:7\n")
	write("brings", "registry.k8s.io/pause:3.10.1\nregistry.k8s.io/etcd:3.6.5-0\n")
	for i := 1; i <= 2; i++ {
		if out, err := run(Archive{Path: tar, Refs: k8s}); err != nil || out != "after\n" || strings.Count(read("imports"), "\n") != i {
			t.Fatalf("import %d: %v %q, imports %q", i, err, out, read("imports"))
		}
	}
	// An archive that does not bring what it should fails, naming it.
	write("brings", "registry.k8s.io/pause:3.10.1x\n")
	out, err := run(Archive{Path: tar, Refs: []string{"registry.k8s.io/pause:3.10.1x", "redis:8"}})
	if err == nil || !strings.Contains(out, "containerd does not list: docker.io/library/redis:8") || strings.Contains(out, "after") {
		t.Errorf("lacking import: %v %q", err, out)
	}

	// With a record: imported once, then only when an image goes or the
	// archive changes.
	write("list", "")
	write("imports", "")
	write("brings", "registry.k8s.io/pause:3.10.1\nregistry.k8s.io/etcd:3.6.5-0\n")
	a := Archive{Path: tar, Refs: k8s, Record: record, SHA256: sum}
	imports := func(want int, what string) {
		t.Helper()
		out, err := run(a)
		if err != nil || out != "after\n" || strings.Count(read("imports"), "\n") != want || read("steps/kubernetes.images") != a.SHA256+"\n" {
			t.Errorf("%s: %v %q, imports %q, record %q", what, err, out, read("imports"), read("steps/kubernetes.images"))
		}
	}
	imports(1, "first run")
	imports(1, "re-run")
	write("list", "registry.k8s.io/etcd:3.6.5-0\n")
	imports(2, "pause removed")
	imports(2, "re-run")
	a.SHA256 = strings.Repeat("f", 64)
	imports(3, "new archive")
	imports(3, "re-run")
}
