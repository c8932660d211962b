package artifacts

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// debianRootfs returns the path of an uncompressed tar of a minimal Debian
// root file system holding the kube-proxy tools, building it with debootstrap
// the first time (a few minutes, needs root and Debian's archive). The tar is
// cached next to the recipe directories, keyed by the Debian recipe.
func (b *builder) debianRootfs(ctx context.Context) (string, error) {
	dir := filepath.Join(b.root, "debian")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	final := filepath.Join(dir, b.recipe.debianHash()+".tar")
	unlock, err := lockFile(ctx, final+".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(final); err == nil {
		b.logf("debian base: cached %s", final)
		return final, nil
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return "", fmt.Errorf("the kube-proxy image needs a Debian base with iptables and conntrack: install debootstrap (apt-get install debootstrap): %w", err)
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("debootstrap (the kube-proxy image's Debian base) must run as root")
	}
	tmp, err := os.MkdirTemp(dir, ".tmp-")
	if err != nil {
		return "", err
	}
	// debootstrap mounts /proc and /sys (and may bind /dev) inside the
	// target; never delete through a mount left behind by an interruption.
	defer func() {
		unmountUnder(tmp)
		os.RemoveAll(tmp)
	}()
	rootfs := filepath.Join(tmp, "rootfs")
	args := []string{"--variant=" + b.recipe.DebianVariant, "--arch=" + b.recipe.Arch,
		"--include=" + strings.Join(b.recipe.DebianPackages, ","), b.recipe.DebianSuite, rootfs, b.opts.DebianMirror}
	b.logf("debian base: debootstrap %s", strings.Join(args, " "))
	if err := runCmd(ctx, "", "debootstrap", args...); err != nil {
		return "", err
	}
	if err := trimRootfs(rootfs); err != nil {
		return "", err
	}
	out := filepath.Join(tmp, "rootfs.tar")
	// GNU tar keeps ownership, modes, hard links and capabilities exactly;
	// the pseudo file systems are the runtime's business.
	if err := runCmd(ctx, "", "tar", "--numeric-owner", "--xattrs", "--sort=name", "-C", rootfs,
		"--exclude=./dev/*", "--exclude=./proc/*", "--exclude=./sys/*", "--exclude=./run/*",
		"-cf", out, "."); err != nil {
		return "", err
	}
	if err := os.Rename(out, final); err != nil {
		return "", err
	}
	return final, nil
}

// trimRootfs drops what a container image never reads: apt's caches and
// lists, manuals, translations, documentation (licences stay).
func trimRootfs(root string) error {
	for _, d := range []string{"var/cache/apt", "var/lib/apt/lists", "usr/share/man", "usr/share/info", "usr/share/locale", "var/log"} {
		entries, err := os.ReadDir(filepath.Join(root, d))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(root, d, e.Name())); err != nil {
				return err
			}
		}
	}
	return filepath.WalkDir(filepath.Join(root, "usr/share/doc"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "copyright" {
			return err
		}
		return os.Remove(p)
	})
}

// runCmd runs a command; on failure the error names it and shows the tail
// of what it printed.
func runCmd(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	// Let the command clean up (debootstrap unmounts in a trap) before a
	// cancelled context kills it.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(shorten(args), " "), err, tail(out.String(), 3000))
	}
	return nil
}
