package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Helpers for the test that builds a fake node out of network namespaces.

// requireRoot skips the kernel test for a developer without root, but never
// in CI, where a skip would hide that the enforcer was not tested at all.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "" {
			t.Skip("needs root (network namespaces, nftables); CI runs it")
		}
		t.Fatal("CI is set but the test does not run as root: the enforcer would go untested")
	}
}

// ipCmd runs the ip command and says what failed and what it printed.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// addNetns creates a named network namespace that is deleted when the test
// ends, whatever happens (deleting it also removes its veth ends and its
// nftables tables).
func addNetns(t *testing.T, name string) {
	t.Helper()
	ipCmd(t, "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	ipCmd(t, "-n", name, "link", "set", "lo", "up")
}

// removeStaleNetns deletes the namespaces of an earlier run that was killed
// before its cleanup could run (a test timeout): names are "lnp<pid>-...".
func removeStaleNetns(t *testing.T) {
	entries, _ := os.ReadDir("/var/run/netns")
	for _, e := range entries {
		pid, _, ok := strings.Cut(strings.TrimPrefix(e.Name(), "lnp"), "-")
		if !strings.HasPrefix(e.Name(), "lnp") || !ok || pid == "" || strings.Trim(pid, "0123456789") != "" {
			continue
		}
		if _, err := os.Stat("/proc/" + pid); err == nil {
			continue // its test is still running
		}
		if out, err := exec.Command("ip", "netns", "del", e.Name()).CombinedOutput(); err != nil {
			t.Logf("stale namespace %s: ip netns del: %v: %s", e.Name(), err, out)
		}
	}
}

// inNetns runs f on an OS thread switched into the named namespace. Sockets
// keep the namespace they were created in, so a listener or connection made
// in f stays there after the thread switches back.
func inNetns(name string, f func() error) error {
	runtime.LockOSThread()
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer self.Close()
	target, err := os.Open("/var/run/netns/" + name)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", name, err)
	}
	ferr := f()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: Go ends it with the goroutine rather than
		// let other goroutines run in the wrong namespace.
		return errors.Join(ferr, fmt.Errorf("setns back from %s: %w", name, err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// sysctl writes a /proc/sys value of a namespace: /proc/sys/net follows the
// namespace of the thread that opens it.
func sysctl(t *testing.T, ns, key, value string) {
	t.Helper()
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	if err := inNetns(ns, func() error { return os.WriteFile(path, []byte(value), 0o644) }); err != nil {
		t.Fatalf("sysctl %s=%s in %s: %v", key, value, ns, err)
	}
}

// serve listens on addr inside ns and answers each connection's first line
// with "pong from NAME", so a client proves data flowed both ways.
func serve(t *testing.T, ns, addr string) {
	t.Helper()
	var ln net.Listener
	err := inNetns(ns, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				if _, err := bufio.NewReader(conn).ReadString('\n'); err == nil {
					fmt.Fprintf(conn, "pong from %s\n", ns)
				}
			}()
		}
	}()
}

// talk opens a TCP connection from ns to addr, sends a line and reads the
// answer. A dropped SYN shows as a timeout.
func talk(ns, addr string, timeout time.Duration) (string, error) {
	var conn net.Conn
	err := inNetns(ns, func() (err error) {
		conn, err = net.DialTimeout("tcp", addr, timeout)
		return err
	})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := fmt.Fprintf(conn, "ping from %s\n", ns); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line), err
}
