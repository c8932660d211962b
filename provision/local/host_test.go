package local

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fakeProcSys(t *testing.T, instances, watches string) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "fs/inotify"), 0o755)
	os.WriteFile(filepath.Join(dir, "fs/inotify/max_user_instances"), []byte(instances), 0o644)
	os.WriteFile(filepath.Join(dir, "fs/inotify/max_user_watches"), []byte(watches), 0o644)
	return dir
}

func TestEnsureHostLimitsRaises(t *testing.T) {
	dir := fakeProcSys(t, "128\n", "8192\n")
	var out bytes.Buffer
	if err := EnsureHostLimits(ProcSys(dir), 10, &out); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "fs/inotify/max_user_instances"))
	if strings.TrimSpace(string(got)) != "1152" {
		t.Errorf("max_user_instances = %q, want 1152 for 10 nodes", got)
	}
	got, _ = os.ReadFile(filepath.Join(dir, "fs/inotify/max_user_watches"))
	if strings.TrimSpace(string(got)) != "524288" {
		t.Errorf("max_user_watches = %q", got)
	}
	if !strings.Contains(out.String(), "raised fs.inotify.max_user_instances from 128 to 1152") {
		t.Errorf("no note of the change: %q", out.String())
	}
}

func TestEnsureHostLimitsNeverLowers(t *testing.T) {
	dir := fakeProcSys(t, "100000\n", "9999999\n")
	var out bytes.Buffer
	if err := EnsureHostLimits(ProcSys(dir), 10, &out); err != nil || out.Len() != 0 {
		t.Fatalf("err %v, out %q", err, out.String())
	}
	got, _ := os.ReadFile(filepath.Join(dir, "fs/inotify/max_user_instances"))
	if string(got) != "100000\n" {
		t.Errorf("lowered to %q", got)
	}
}

type readOnlySysctl map[string]int

func (r readOnlySysctl) Get(key string) (int, error) { return r[key], nil }
func (r readOnlySysctl) Set(string, int) error       { return errors.New("permission denied") }

func TestEnsureHostLimitsNamesTheSetting(t *testing.T) {
	sys := readOnlySysctl{"fs.inotify.max_user_instances": 128, "fs.inotify.max_user_watches": 524288}
	err := EnsureHostLimits(sys, 2, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "fs.inotify.max_user_instances is 128 and 2 local nodes need 640; as root: sysctl -w fs.inotify.max_user_instances=640") {
		t.Fatalf("err = %v", err)
	}
	if _, err := ProcSys(t.TempDir()).Get("fs.inotify.max_user_instances"); err == nil {
		t.Fatal("a missing setting read as a number")
	}
}

const testProcCgroups = `#subsys_name	hierarchy	num_cgroups	enabled
cpuset	3	1	1
cpu	1	1	1
cpuacct	2	1	1
memory	4	1	1
net_cls	0	1	1
perf_event	0	1	1
net_prio	0	1	1
hugetlb	0	1	1
rdma	0	1	0
`

func TestMissingCgroupMounts(t *testing.T) {
	// This machine: v1 controllers mounted one by one, three left out.
	mi := `30 25 0:26 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
31 25 0:27 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
32 25 0:28 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
33 25 0:29 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 25 0:36 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate`
	got := strings.Join(MissingCgroupMounts(testProcCgroups, mi), " ")
	if got != "net_cls,net_prio perf_event hugetlb" {
		t.Errorf("missing = %q", got)
	}
	// A pure cgroup v2 host has nothing to mount.
	if m := MissingCgroupMounts(testProcCgroups, `40 25 0:36 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate`); m != nil {
		t.Errorf("cgroup v2 host: %v", m)
	}
	// Debian's usual hybrid layout: everything is there.
	full := mi + "\n50 25 0:40 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio\n51 25 0:41 / /sys/fs/cgroup/perf_event rw - cgroup cgroup rw,perf_event\n52 25 0:42 / /sys/fs/cgroup/hugetlb rw - cgroup cgroup rw,hugetlb"
	if m := MissingCgroupMounts(testProcCgroups, full); len(m) != 0 {
		t.Errorf("complete host: %v", m)
	}
}
