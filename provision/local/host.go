package local

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Local nodes share this machine's kernel, and with it the per-user inotify
// limits: every node's systemd, containerd and kubelet take inotify
// instances from the same pool of 128 (Debian's default), and past it the
// kubelet cannot start ("inotify_init: too many open files"). Ten nodes
// were enough to hit it.
const (
	inotifyPerNode    = 64
	inotifyBase       = 512
	inotifyWatchesMin = 524288
)

// hostLimit is one /proc/sys setting local nodes need at least Want of.
type hostLimit struct {
	Key  string // fs.inotify.max_user_instances
	Want int
}

func hostLimits(nodes int) []hostLimit {
	return []hostLimit{
		{"fs.inotify.max_user_instances", inotifyBase + inotifyPerNode*nodes},
		{"fs.inotify.max_user_watches", inotifyWatchesMin},
	}
}

// Sysctl reads and writes kernel settings ("fs.inotify.max_user_watches").
type Sysctl interface {
	Get(key string) (int, error)
	Set(key string, v int) error
}

// ProcSys is the Sysctl of /proc/sys (or another root, for tests).
type ProcSys string

func (r ProcSys) path(key string) string {
	return filepath.Join(string(r), strings.ReplaceAll(key, ".", "/"))
}

func (r ProcSys) Get(key string) (int, error) {
	data, err := os.ReadFile(r.path(key))
	if err != nil {
		return 0, err
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", strings.TrimSpace(string(data)))
	}
	return v, nil
}

func (r ProcSys) Set(key string, v int) error {
	return os.WriteFile(r.path(key), []byte(strconv.Itoa(v)+"\n"), 0o644)
}

// EnsureHostLimits raises the kernel limits that many node containers
// need, never lowers them, and says what it changed.
func EnsureHostLimits(sys Sysctl, nodes int, out io.Writer) error {
	for _, l := range hostLimits(nodes) {
		have, err := sys.Get(l.Key)
		if err != nil {
			return fmt.Errorf("%s: %w", l.Key, err)
		}
		if have >= l.Want {
			continue
		}
		if err := sys.Set(l.Key, l.Want); err != nil {
			return fmt.Errorf("%s is %d and %d local nodes need %d; as root: sysctl -w %s=%d (%v)", l.Key, have, nodes, l.Want, l.Key, l.Want, err)
		}
		fmt.Fprintf(out, "    raised %s from %d to %d for %d local nodes (they share this machine's kernel)\n", l.Key, have, l.Want, nodes)
	}
	return nil
}

// On a cgroup v1 host, runc puts a container in its own cgroup only in the
// hierarchies the host has mounted. A hierarchy the host lacks (this one
// mounts neither hugetlb, perf_event nor net_cls) is mounted whole by each
// node's systemd: every node's kubelet then shares one kubepods.slice
// there, and cleans up the "orphaned" pod cgroups of the others. Mounting
// the missing hierarchies on the host first gives each node its own.

// cgroupGroups are controllers systemd mounts together.
var cgroupGroups = map[string]string{"net_cls": "net_cls,net_prio", "net_prio": "net_cls,net_prio", "cpu": "cpu,cpuacct", "cpuacct": "cpu,cpuacct"}

// MissingCgroupMounts lists the cgroup v1 hierarchies (as mount options,
// "net_cls,net_prio") that the kernel has enabled and this mount namespace
// has not mounted. It is empty on a pure cgroup v2 host.
func MissingCgroupMounts(procCgroups, mountinfo string) []string {
	mounted := map[string]bool{}
	v1 := false
	for _, line := range strings.Split(mountinfo, "\n") {
		// ... - cgroup cgroup rw,cpu,cpuacct
		_, post, ok := strings.Cut(line, " - ")
		f := strings.Fields(post)
		if !ok || len(f) < 3 || f[0] != "cgroup" {
			continue
		}
		v1 = true
		for _, o := range strings.Split(f[2], ",") {
			mounted[o] = true
		}
	}
	if !v1 {
		return nil
	}
	var missing []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(procCgroups))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || strings.HasPrefix(f[0], "#") || f[3] != "1" || mounted[f[0]] {
			continue
		}
		opts := f[0]
		if g, ok := cgroupGroups[f[0]]; ok {
			opts = g
			for _, o := range strings.Split(g, ",") {
				if mounted[o] {
					opts = f[0] // its partner is mounted alone: so is it
				}
			}
		}
		if !seen[opts] {
			seen[opts] = true
			missing = append(missing, opts)
		}
	}
	return missing
}

// EnsureCgroupMounts mounts the missing cgroup v1 hierarchies under
// /sys/fs/cgroup, and says so.
func EnsureCgroupMounts(out io.Writer) error {
	pc, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		return nil // no cgroup v1 controllers to speak of
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	for _, opts := range MissingCgroupMounts(string(pc), string(mi)) {
		dir := "/sys/fs/cgroup/" + opts
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("cgroup %s: %w (local nodes need every cgroup v1 hierarchy mounted on the host)", opts, err)
		}
		if err := unix.Mount("cgroup", dir, "cgroup", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, opts); err != nil {
			return fmt.Errorf("mount -t cgroup -o %s cgroup %s: %w (local nodes need every cgroup v1 hierarchy mounted on the host)", opts, dir, err)
		}
		fmt.Fprintf(out, "    mounted the %s cgroup hierarchy at %s, so each node gets its own\n", opts, dir)
	}
	return nil
}
