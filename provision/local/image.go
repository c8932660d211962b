package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// ImageRepo is where node images are tagged; the tag is the recipe hash.
const ImageRepo = "localhost/labctl-node"

// imageRecipeVersion changes when the build steps below change in a way
// the package list and script do not show.
const imageRecipeVersion = "2"

// Recipe is what a node image is built from: a Debian suite, the packages a
// cloud VM image would have, and a script run in the new root file system.
type Recipe struct {
	Suite    string
	Mirror   string
	Packages []string
	Setup    string
}

// DefaultRecipe is a small bookworm "VM": systemd as PID 1, sshd with host
// keys made at first boot (so every node has its own), and what nodeprep
// needs to start from.
func DefaultRecipe() Recipe {
	return Recipe{
		Suite:  "bookworm",
		Mirror: "http://deb.debian.org/debian",
		Packages: []string{
			"systemd", "systemd-sysv", "dbus", "openssh-server", "openssh-sftp-server",
			"iproute2", "iputils-ping", "sudo", "kmod", "procps", "ca-certificates",
			"curl", "less", "iptables", "udev",
		},
		Setup: nodeSetupScript,
	}
}

// nodeSetupScript turns a debootstrap root into a bootable node image.
const nodeSetupScript = `set -e
# Host keys are made at first boot: nodes must not share them.
rm -f /etc/ssh/ssh_host_*
cat > /etc/systemd/system/ssh-hostkeys.service <<'UNIT'
[Unit]
Description=Generate SSH host keys on first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A
[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/ssh-hostkeys.service /etc/systemd/system/multi-user.target.wants/ssh-hostkeys.service
# Consoles and hardware services have nothing to do in a container.
for u in getty@tty1.service console-getty.service systemd-udevd.service systemd-udev-trigger.service \
         systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount; do
  ln -sf /dev/null /etc/systemd/system/$u
done
ln -sf /lib/systemd/system/multi-user.target /etc/systemd/system/default.target
echo 'PermitRootLogin prohibit-password' > /etc/ssh/sshd_config.d/10-labctl.conf
mkdir -p /root/.ssh && chmod 700 /root/.ssh
: > /etc/machine-id
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
`

// Hash identifies the recipe; the image tag is its first 12 hex digits.
func (r Recipe) Hash() string {
	h := sha256.New()
	fmt.Fprintf(h, "v=%s\nsuite=%s\nmirror=%s\npkgs=%s\n%s", imageRecipeVersion, r.Suite, r.Mirror, strings.Join(r.Packages, ","), r.Setup)
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Tag is the image reference for this recipe.
func (r Recipe) Tag() string { return ImageRepo + ":" + r.Hash() }

// EnsureImage builds the recipe's image unless podman already has it.
func EnsureImage(ctx context.Context, pm *Podman, r Recipe, log io.Writer) (string, error) {
	tag := r.Tag()
	if pm.ImageExists(ctx, tag) {
		return tag, nil
	}
	fmt.Fprintf(log, "building node image %s (debootstrap %s, a few minutes, once per recipe)\n", tag, r.Suite)
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return "", fmt.Errorf("node image: debootstrap is not installed (apt-get install debootstrap)")
	}
	work, err := os.MkdirTemp("", "labctl-rootfs-")
	if err != nil {
		return "", err
	}
	defer removeRootfs(work)
	root := filepath.Join(work, "root")
	boot := exec.CommandContext(ctx, "debootstrap", "--variant=minbase",
		"--include="+strings.Join(r.Packages, ","), r.Suite, root, r.Mirror)
	if out, err := boot.CombinedOutput(); err != nil {
		return "", fmt.Errorf("node image: debootstrap: %w: %s", err, tailOf(out))
	}
	setup := exec.CommandContext(ctx, "chroot", root, "/bin/sh", "-c", r.Setup)
	if out, err := setup.CombinedOutput(); err != nil {
		return "", fmt.Errorf("node image: setup script: %w: %s", err, tailOf(out))
	}
	if err := pm.ImportDir(ctx, root, tag); err != nil {
		return "", err
	}
	return tag, nil
}

func tailOf(out []byte) string {
	s := strings.TrimSpace(string(out))
	if len(s) > 800 {
		s = "..." + s[len(s)-800:]
	}
	return s
}

// removeRootfs unmounts whatever debootstrap left mounted under dir (/proc,
// /sys, /dev/pts after a failure), then deletes it. It never deletes
// through a mount point: that would reach the host's own files.
func removeRootfs(dir string) {
	for _, m := range mountsUnder(dir) {
		_ = exec.Command("umount", "-l", m).Run()
	}
	if len(mountsUnder(dir)) > 0 {
		return // leave it rather than risk the host
	}
	_ = os.RemoveAll(dir)
}

// mountsUnder lists mount points below dir, deepest first.
func mountsUnder(dir string) []string {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return []string{dir} // unknown: treat as mounted
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			out = append(out, f[1])
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}
