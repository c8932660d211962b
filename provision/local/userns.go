package local

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Nodes in a user namespace (provider.userns): the node's users 0..65535
// are this machine's UsernsBase..UsernsBase+65535, so root on the node is
// an unprivileged user here. The container stays --privileged (systemd
// needs writable cgroup mounts), but its capabilities hold only inside
// its own namespaces: host device nodes, kernel-wide sysctls, loop
// devices and the cgroup v1 release agents are refused to it.
const (
	UsernsBase = 1_000_000_000
	UsernsSize = 65536
	// LabelUserNS marks a node made in a user namespace; `labctl start`
	// reads it, since a container keeps the mapping it was created with.
	LabelUserNS = "labctl.userns"
)

// usernsArgs are the podman create flags of a node in a user namespace.
func usernsArgs() []string {
	m := fmt.Sprintf("0:%d:%d", UsernsBase, UsernsSize)
	return []string{"--uidmap", m, "--gidmap", m, "--label", LabelUserNS + "=1"}
}

// CheckIDRange refuses a machine where the nodes' IDs are already someone
// else's: a line of /etc/subuid or /etc/subgid whose range overlaps
// theirs, or a user or group of /etc/passwd or /etc/group among them.
// files maps each path to its content ("" for a missing file).
func CheckIDRange(files map[string]string) error {
	lo, hi := uint64(UsernsBase), uint64(UsernsBase+UsernsSize-1)
	for _, path := range []string{"/etc/subuid", "/etc/subgid", "/etc/passwd", "/etc/group"} {
		sc := bufio.NewScanner(strings.NewReader(files[path]))
		for n := 1; sc.Scan(); n++ {
			f := strings.Split(sc.Text(), ":")
			var start, count uint64
			var err error
			switch {
			case strings.HasPrefix(path, "/etc/sub") && len(f) == 3:
				start, err = strconv.ParseUint(f[1], 10, 32)
				if err == nil {
					count, err = strconv.ParseUint(f[2], 10, 32)
				}
			case !strings.HasPrefix(path, "/etc/sub") && len(f) >= 3:
				start, err = strconv.ParseUint(f[2], 10, 32)
				count = 1
			default:
				continue
			}
			if err != nil || count == 0 {
				continue
			}
			if start <= hi && start+count-1 >= lo {
				return fmt.Errorf("provider.userns: %s line %d (%s) uses IDs in %d-%d, the range this machine's user-namespace nodes map to", path, n, f[0], lo, hi)
			}
		}
	}
	return nil
}

// checkHostIDs runs CheckIDRange on this machine's files.
func checkHostIDs() error {
	files := map[string]string{}
	for _, p := range []string{"/etc/subuid", "/etc/subgid", "/etc/passwd", "/etc/group"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("provider.userns: %w", err)
		}
		files[p] = string(b)
	}
	return CheckIDRange(files)
}

// cgroupRoot is where the host mounts its cgroup hierarchies.
var cgroupRoot = "/sys/fs/cgroup"

// startUserNS starts a node made in a user namespace. runc creates the
// node's cgroups owned by this machine's root, where the node's systemd
// may not make its own (init.scope, system.slice, kubepods.slice), and
// removes them when the node stops: so the container is initialised,
// its cgroups handed to the node's root, and only then started, at every
// start.
func (p *Provider) startUserNS(ctx context.Context, name string) error {
	// A node halted by other means (podman stop, a reboot) may still
	// hold its address: `podman init` then refuses it.
	if err := p.Podman.Cleanup(ctx, name); err != nil {
		return err
	}
	if _, err := p.Podman.run(ctx, nil, "init", name); err != nil {
		return err
	}
	// podman 4.3 leaves .State.CgroupPath empty until the start: read the
	// cgroup of the container's (waiting) init process instead.
	out, err := p.Podman.run(ctx, nil, "inspect", "--format", "{{.Id}} {{.State.Pid}}", name)
	if err != nil {
		return err
	}
	f := strings.Fields(string(out))
	if len(f) != 2 || f[1] == "0" {
		return fmt.Errorf("%s: podman init left no process (inspect: %q)", name, strings.TrimSpace(string(out)))
	}
	pc, err := os.ReadFile(filepath.Join(procRoot, f[1], "cgroup"))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	path, err := CgroupOf(string(pc), f[0])
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := ChownCgroups(cgroupRoot, path, UsernsBase); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	_, err = p.Podman.run(ctx, nil, "start", name)
	return err
}

// procRoot is /proc (another directory in tests).
var procRoot = "/proc"

// CgroupOf is the container's own cgroup from its init process's
// /proc/PID/cgroup: the same path in every hierarchy, its last element
// naming the container's ID (never a parent, which other containers and
// this machine share).
func CgroupOf(procCgroup, id string) (string, error) {
	path := ""
	for _, line := range strings.Split(strings.TrimSpace(procCgroup), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			return "", fmt.Errorf("cgroup line %q is not N:controllers:path", line)
		}
		if path != "" && f[2] != path {
			return "", fmt.Errorf("the container's cgroups differ (%s, %s)", path, f[2])
		}
		path = f[2]
	}
	if len(id) < 12 || !strings.Contains(filepath.Base(path), id) {
		return "", fmt.Errorf("cgroup %q is not container %.12s's own", path, id)
	}
	return path, nil
}

// ChownCgroups gives the container's cgroup (path, as podman names it,
// "/libpod_parent/libpod-<id>") in every hierarchy under root to uid:uid:
// root/<hierarchy>/path on cgroup v1, root/path on v2.
func ChownCgroups(root, path string, uid int) error {
	if !strings.HasPrefix(path, "/") || strings.Contains(path, "..") || path == "/" {
		return fmt.Errorf("cgroup path %q is not a container's cgroup", path)
	}
	dirs, err := filepath.Glob(filepath.Join(root, "*") + path)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(root + path); err == nil && fi.IsDir() {
		dirs = append(dirs, root+path)
	}
	if len(dirs) == 0 {
		return fmt.Errorf("cgroup %s is in no hierarchy under %s", path, root)
	}
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, uid)
		})
		if err != nil {
			return fmt.Errorf("cgroup %s: %w", d, err)
		}
	}
	return nil
}

// createUserNS creates a node in a user namespace from the run flags of
// a privileged node, then starts it. Its volumes are chowned to the
// node's root (podman's :U), or its containerd could not write there.
func (p *Provider) createUserNS(ctx context.Context, name string, args []string, image string) error {
	create := []string{"create"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-v" && i+1 < len(args) && strings.HasPrefix(args[i+1], name+"-") {
			create = append(create, a, args[i+1]+":U")
			i++
			continue
		}
		create = append(create, a)
	}
	create = append(append(create, usernsArgs()...), image, "/sbin/init")
	if _, err := p.Podman.run(ctx, nil, create...); err != nil {
		return err
	}
	return p.startUserNS(ctx, name)
}
