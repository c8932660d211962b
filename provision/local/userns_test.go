package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCheckIDRangeRefusesOverlaps(t *testing.T) {
	clean := map[string]string{
		"/etc/subuid": "alice:100000:65536\nbob:165536:65536\n",
		"/etc/subgid": "alice:100000:65536\n",
		"/etc/passwd": "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n",
		"/etc/group":  "root:x:0:\n",
	}
	if err := CheckIDRange(clean); err != nil {
		t.Fatalf("a usual machine refused: %v", err)
	}
	for path, line := range map[string]string{
		"/etc/subuid": "carol:999990000:20000",                   // ends inside
		"/etc/subgid": "dave:1000065535:10",                      // starts at the last ID
		"/etc/passwd": "svc:x:1000000005:100::/home/svc:/bin/sh", // one user inside
		"/etc/group":  "ldap:x:1000000000:",                      // the first ID
	} {
		files := map[string]string{}
		for k, v := range clean {
			files[k] = v
		}
		files[path] += line + "\n"
		err := CheckIDRange(files)
		if err == nil || !strings.Contains(err.Error(), path+" line") || !strings.Contains(err.Error(), "1000000000-1000065535") {
			t.Errorf("%s %q: %v", path, line, err)
		}
	}
	files := map[string]string{"/etc/subuid": "eve:1000065536:65536\nmallory:bad:1\n# comment\n"}
	if err := CheckIDRange(files); err != nil {
		t.Fatalf("a range just above, or a bad line, refused: %v", err)
	}
}

func TestChownCgroupsEveryHierarchy(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	root := t.TempDir()
	path := "/libpod_parent/libpod-abc"
	var want []string
	for _, h := range []string{"memory", "cpu,cpuacct", "systemd", "unified"} {
		d := filepath.Join(root, h) + path
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, d, filepath.Join(d, "cgroup.procs"))
	}
	other := filepath.Join(root, "memory", "libpod_parent", "libpod-other")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ChownCgroups(root, path, UsernsBase); err != nil {
		t.Fatal(err)
	}
	for _, p := range want {
		if uid(t, p) != UsernsBase {
			t.Errorf("%s not chowned", p)
		}
	}
	if uid(t, other) != 0 || uid(t, filepath.Join(root, "memory", "libpod_parent")) != 0 {
		t.Error("another container's cgroup or the parent was chowned")
	}
	for _, bad := range []string{"", "/", "/libpod_parent/../..", "libpod-abc", "/libpod_parent/libpod-none"} {
		if err := ChownCgroups(root, bad, UsernsBase); err == nil {
			t.Errorf("cgroup path %q accepted", bad)
		}
	}
}

func uid(t *testing.T, p string) int {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}

// fakePodman logs each call's arguments, one line per call, and answers
// inspect with a cgroup path.
func fakePodman(t *testing.T) (*Podman, string) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	script := "#!/bin/sh\necho \"$*\" >> " + log + "\n[ \"$1\" = inspect ] && echo abc0123456789 4242\nexit 0\n"
	bin := filepath.Join(dir, "podman")
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return &Podman{Bin: bin}, log
}

func TestCreateUserNSInitChownStart(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown to another user needs root")
	}
	root, proc := t.TempDir(), t.TempDir()
	oldRoot, oldProc := cgroupRoot, procRoot
	cgroupRoot, procRoot = root, proc
	defer func() { cgroupRoot, procRoot = oldRoot, oldProc }()
	if err := os.MkdirAll(filepath.Join(root, "memory/libpod_parent/libpod-abc0123456789"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(proc, "4242"), 0o755); err != nil {
		t.Fatal(err)
	}
	pc := "4:memory:/libpod_parent/libpod-abc0123456789\n0::/libpod_parent/libpod-abc0123456789\n"
	if err := os.WriteFile(filepath.Join(proc, "4242", "cgroup"), []byte(pc), 0o644); err != nil {
		t.Fatal(err)
	}
	pm, log := fakePodman(t)
	p := &Provider{Podman: pm}
	name := "labctl-l-01-node1"
	args := []string{"--name", name, "--privileged", "-v", name + "-containerd:/var/lib/containerd", "-v", "/lib/modules:/lib/modules:ro"}
	if err := p.createUserNS(context.Background(), name, args, "img"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(log)
	calls := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(calls) != 5 || !strings.HasPrefix(calls[0], "create ") || calls[1] != "container cleanup "+name || calls[2] != "init "+name || !strings.HasPrefix(calls[3], "inspect ") || calls[4] != "start "+name {
		t.Fatalf("calls:\n%s", b)
	}
	for _, want := range []string{"-v " + name + "-containerd:/var/lib/containerd:U ", "-v /lib/modules:/lib/modules:ro ", "--uidmap 0:1000000000:65536 --gidmap 0:1000000000:65536 --label labctl.userns=1 img /sbin/init"} {
		if !strings.Contains(calls[0]+" ", want) {
			t.Errorf("create lacks %q: %s", want, calls[0])
		}
	}
	if uid(t, filepath.Join(root, "memory/libpod_parent/libpod-abc0123456789")) != UsernsBase {
		t.Error("the node's cgroup was not chowned before the start")
	}
	if uid(t, filepath.Join(root, "memory/libpod_parent")) != 0 || uid(t, filepath.Join(root, "memory")) != 0 {
		t.Error("a parent cgroup was chowned")
	}
}

func TestStartedNodeKeepsItsMapping(t *testing.T) {
	// A stopped node made in a user namespace is started through init,
	// chown and start; one made without, with a plain start.
	pm, log := fakePodman(t)
	p := &Provider{Podman: pm, BootTimeout: 1}
	c := Container{Name: "n", Labels: map[string]string{}}
	_, _, _ = p.ensureNode(context.Background(), map[string]Container{"n": c}, "n", "net", "", "", "key", 1, "node1", "", true)
	b, _ := os.ReadFile(log)
	if !strings.HasPrefix(string(b), "start n\n") {
		t.Fatalf("a node made without a user namespace: %s", b)
	}
}

func TestCgroupOfIsTheContainersOwn(t *testing.T) {
	id := "e53c04ba03718258dd43665ae89da9e168f3a3820361f93985b69bfb08d1b3c6"
	own := "/libpod_parent/libpod-" + id
	v1 := "12:hugetlb:" + own + "\n9:name=systemd:" + own + "\n1:cpu:" + own + "\n0::" + own + "\n"
	if got, err := CgroupOf(v1, id); err != nil || got != own {
		t.Fatalf("got %q, %v", got, err)
	}
	for name, pc := range map[string]string{
		// podman 4.3's empty CgroupPath once made the whole tree a target.
		"empty":        "",
		"the root":     "0::/\n",
		"a parent":     "1:cpu:/libpod_parent\n",
		"another's":    "1:cpu:/libpod_parent/libpod-0000000000000000\n",
		"mixed":        "1:cpu:" + own + "\n2:memory:/libpod_parent\n",
		"not a cgroup": "garbage\n",
	} {
		if got, err := CgroupOf(pc, id); err == nil {
			t.Errorf("%s: accepted %q", name, got)
		}
	}
	if _, err := CgroupOf(v1, ""); err == nil {
		t.Error("an empty container ID accepted")
	}
}
