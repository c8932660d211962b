package testenv

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// OpenSSHOptions shape one test's OpenSSH server.
type OpenSSHOptions struct {
	// ForceCommand replaces every command the client asks for, as an
	// authorized_keys command= does (OpenSSH then refuses "signal" requests).
	ForceCommand string
	// PasswordAuth lets clients try passwords (none is right: the server
	// logs each attempt, which is what tests look at).
	PasswordAuth bool
	// PrivateDirs are bind-mounted, in the server's own mount namespace,
	// over directories of this machine (target: source), so that commands
	// run as root through this server write into the test's directories.
	PrivateDirs map[string]string
}

// OpenSSH is a real OpenSSH server on loopback started by a test, with its
// own host key, configuration and authorized key. Commands run as root on
// this machine (the test runs as root) or as the test's user.
type OpenSSH struct {
	Addr    string // 127.0.0.1:port
	HostKey string // authorized_keys format
	// Signer is the client key the server accepts.
	Signer ssh.Signer
	// KeyFile is Signer's private key in OpenSSH format.
	KeyFile string
	Dir     string
	opts    OpenSSHOptions
	log     string

	mu  sync.Mutex // cmd: a test's goroutine may kill connections
	cmd *exec.Cmd
}

// RequireSSHD returns the path of sshd. Without it the test is skipped,
// unless CI=true, where it fails: CI must run these tests.
func RequireSSHD(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("sshd")
	if err != nil {
		path = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sshd not found (scripts/deps installs openssh-server): %v", err)
		}
		t.Skipf("sshd not found (apt-get install openssh-server): %v", err)
	}
	return path
}

// StartOpenSSH starts an OpenSSH server on a free loopback port; it stops
// when the test ends.
func StartOpenSSH(t testing.TB, opts OpenSSHOptions) *OpenSSH {
	t.Helper()
	RequireSSHD(t)
	if len(opts.PrivateDirs) > 0 && os.Geteuid() != 0 {
		t.Skip("private directories need root (a mount namespace)")
	}
	dir := t.TempDir()
	s := &OpenSSH{Dir: dir, opts: opts, KeyFile: filepath.Join(dir, "client_key")}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if s.Signer, err = ssh.NewSignerFromKey(priv); err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.KeyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	auth := string(ssh.MarshalAuthorizedKey(s.Signer.PublicKey()))
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(auth), 0o600); err != nil {
		t.Fatal(err)
	}
	s.newHostKey(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	ln.Close()
	s.start(t)
	t.Cleanup(s.Stop)
	return s
}

// Address and Port split Addr.
func (s *OpenSSH) Address() string { h, _, _ := net.SplitHostPort(s.Addr); return h }

// Port is the listening port.
func (s *OpenSSH) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Log is what the server printed so far.
func (s *OpenSSH) Log() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

func (s *OpenSSH) newHostKey(t testing.TB) {
	t.Helper()
	key := filepath.Join(s.Dir, "host_ed25519")
	os.Remove(key)
	os.Remove(key + ".pub")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(pub))
	s.HostKey = f[0] + " " + f[1]
}

func (s *OpenSSH) start(t testing.TB) {
	t.Helper()
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatal(err)
	}
	yes := map[bool]string{true: "yes", false: "no"}
	args := []string{RequireSSHD(t), "-D", "-e", "-f", "/dev/null",
		"-o", "ListenAddress=" + s.Addr, "-o", "HostKey=" + filepath.Join(s.Dir, "host_ed25519"),
		"-o", "AuthorizedKeysFile=" + filepath.Join(s.Dir, "authorized_keys"), "-o", "StrictModes=no", "-o", "UsePAM=no",
		"-o", "PermitRootLogin=yes", "-o", "PidFile=none", "-o", "LogLevel=VERBOSE",
		"-o", "PasswordAuthentication=" + yes[s.opts.PasswordAuth], "-o", "KbdInteractiveAuthentication=no",
		"-o", "Subsystem=sftp internal-sftp"}
	if s.opts.ForceCommand != "" {
		args = append(args, "-o", "ForceCommand="+s.opts.ForceCommand)
	}
	var binds []string
	if os.Geteuid() == 0 {
		// A login shell sources ~/.bashrc; this machine's is slow and noisy.
		if home, err := os.UserHomeDir(); err == nil {
			if _, err := os.Stat(filepath.Join(home, ".bashrc")); err == nil {
				empty := filepath.Join(s.Dir, "empty-bashrc")
				os.WriteFile(empty, nil, 0o644)
				binds = append(binds, fmt.Sprintf("mount --bind %s %s", empty, filepath.Join(home, ".bashrc")))
			}
		}
		for target, source := range s.opts.PrivateDirs {
			binds = append(binds, fmt.Sprintf("mount --bind %s %s", source, target))
		}
	}
	if len(binds) > 0 {
		script := strings.Join(binds, " && ") + ` && exec "$@"`
		args = append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"}, args...)
	}
	s.log = filepath.Join(s.Dir, "sshd.log")
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	// unshare and sh exec: the process started is the listening sshd.
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("sshd: %v", err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	if err := waitListening(context.Background(), s.Addr, 10*time.Second); err != nil {
		s.Stop()
		t.Fatalf("%v: %s", err, s.Log())
	}
}

// Stop stops the listening server; sessions already open go on, as with
// `systemctl stop ssh`.
func (s *OpenSSH) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		cmd.Process.Kill()
		cmd.Wait()
	}
}

// Restart stops the listening server and starts it again on the same
// address with opts; newHostKey gives it a new host key, as a rebuilt
// machine has.
func (s *OpenSSH) Restart(t testing.TB, opts OpenSSHOptions, newHostKey bool) {
	t.Helper()
	s.Stop()
	s.opts = opts
	if newHostKey {
		s.newHostKey(t)
	}
	s.start(t)
}

// KillConnections kills the server's per-connection processes, as a
// network drop or an OOM kill does: each client sees its connection die
// mid-command. The listener stays.
func (s *OpenSSH) KillConnections() int {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return 0
	}
	n := 0
	for _, pid := range descendants(cmd.Process.Pid) {
		if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) == "sshd" {
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
			}
		}
	}
	return n
}

// descendants lists the processes below pid.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so cut at ")".
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		out = append(out, children[p]...)
		queue = append(queue, children[p]...)
	}
	return out
}

// Processes lists the processes of this machine whose command line
// (arguments joined by spaces) starts with marker: "sleep 1000.123" finds
// that sleep, not the shell or the labctl that asked for it.
func Processes(marker string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		if strings.HasPrefix(strings.ReplaceAll(string(b), "\x00", " "), marker) {
			out = append(out, p)
		}
	}
	return out
}

// KillProcesses kills the processes whose command line starts with marker:
// a test cleans up what a failure may have left behind.
func KillProcesses(marker string) {
	for _, p := range Processes(marker) {
		syscall.Kill(p, syscall.SIGKILL)
	}
}

// WaitNoProcesses waits up to within for no process to match marker and
// returns those still there.
func WaitNoProcesses(marker string, within time.Duration) []int {
	deadline := time.Now().Add(within)
	for {
		left := Processes(marker)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitProcess waits until a process whose command line starts with marker
// runs, and fails the test after 20 s.
func WaitProcess(t testing.TB, marker string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(Processes(marker)) == 0 {
		if time.Now().After(deadline) {
			t.Errorf("%q never started", marker)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
