package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AddrsPerSSHD is how many addresses one sshd process listens on: OpenSSH
// takes at most 16 ListenAddress.
const AddrsPerSSHD = 16

// Farm is n real OpenSSH servers on loopback addresses (127.0.0.3, ...,
// one port), AddrsPerSSHD per sshd process, all with one host key and
// accepting one client key: a class's worth of nodes on one machine.
type Farm struct {
	Addrs   []string // host:port, in order
	HostKey string   // authorized_keys format

	ctx     context.Context
	base    []string // sshd and its options, without ListenAddress
	wrap    func([]string) []string
	mu      sync.Mutex
	procs   []*exec.Cmd
	groups  [][]string // the addresses each process listens on
	stopped map[string]bool
}

// StartFarm starts the servers; Stop stops them.
func StartFarm(ctx context.Context, dir string, n, port int, authorizedKey string) (*Farm, error) {
	base, wrap, hostPub, err := sshdSetup(dir, authorizedKey, "200:30:400")
	if err != nil {
		return nil, err
	}
	f := &Farm{HostKey: hostPub, ctx: ctx, base: base, wrap: wrap, stopped: map[string]bool{}}
	for i := 0; i < n; i++ {
		f.Addrs = append(f.Addrs, net.JoinHostPort(fmt.Sprintf("127.0.%d.%d", (i+2)/250, (i+2)%250+1), fmt.Sprint(port)))
	}
	for i := 0; i < n; i += AddrsPerSSHD {
		f.groups = append(f.groups, f.Addrs[i:min(n, i+AddrsPerSSHD)])
		f.procs = append(f.procs, nil)
	}
	for g := range f.groups {
		if err := f.start(g); err != nil {
			f.Stop()
			return nil, err
		}
	}
	for _, a := range f.Addrs {
		if err := waitListening(ctx, a, 20*time.Second); err != nil {
			f.Stop()
			return nil, err
		}
	}
	return f, nil
}

// start (re)starts group g's sshd on its addresses not stopped.
func (f *Farm) start(g int) error {
	var listen []string
	for _, a := range f.groups[g] {
		if !f.stopped[a] {
			listen = append(listen, "-o", "ListenAddress="+a)
		}
	}
	if len(listen) == 0 {
		return nil
	}
	args := f.wrap(append(slices.Clone(f.base), listen...))
	cmd := exec.CommandContext(f.ctx, args[0], args[1:]...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("sshd for %s: %w", strings.Join(f.groups[g], ","), err)
	}
	f.procs[g] = cmd
	return nil
}

// StopHosts stops the servers at addrs, as a node that went down: their
// sshd process starts again without them. Connections open to the other
// addresses of the process are cut; new ones succeed.
func (f *Farm) StopHosts(addrs ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range addrs {
		f.stopped[a] = true
	}
	for g, group := range f.groups {
		hit := slices.ContainsFunc(group, func(a string) bool { return slices.Contains(addrs, a) })
		if !hit {
			continue
		}
		kill(f.procs[g])
		if err := f.start(g); err != nil {
			return err
		}
		for _, a := range group {
			if !f.stopped[a] {
				if err := waitListening(f.ctx, a, 20*time.Second); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Processes is how many sshd processes listen.
func (f *Farm) Processes() int { return len(f.procs) }

// Stop stops every server.
func (f *Farm) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.procs {
		kill(c)
	}
}

func kill(c *exec.Cmd) {
	if c != nil && c.Process != nil {
		c.Process.Kill()
		c.Wait()
	}
}

// sshdSetup writes the client key and a host key into dir and returns
// sshd's command line without addresses, the wrapper that hides this
// machine's ~/.bashrc from the servers (root only), and the host key.
func sshdSetup(dir, authorizedKey, maxStartups string) ([]string, func([]string) []string, string, error) {
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(sshd); err != nil {
		return nil, nil, "", fmt.Errorf("sshd not found (apt-get install openssh-server): %w", err)
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return nil, nil, "", err
	}
	auth := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(auth, []byte(authorizedKey+"\n"), 0o600); err != nil {
		return nil, nil, "", err
	}
	hostKey := filepath.Join(dir, "host_ed25519")
	if _, err := os.Stat(hostKey); err != nil {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey).CombinedOutput(); err != nil {
			return nil, nil, "", fmt.Errorf("ssh-keygen: %v: %s", err, out)
		}
	}
	pub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		return nil, nil, "", err
	}
	fl := strings.Fields(string(pub))
	args := []string{sshd, "-D", "-e", "-f", "/dev/null",
		"-o", "HostKey=" + hostKey,
		"-o", "AuthorizedKeysFile=" + auth, "-o", "StrictModes=no", "-o", "UsePAM=no",
		"-o", "PermitRootLogin=yes", "-o", "PidFile=none", "-o", "MaxStartups=" + maxStartups,
		"-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
		"-o", "Subsystem=sftp internal-sftp", "-o", "LogLevel=ERROR"}
	wrap := func(a []string) []string { return a }
	if home, err := os.UserHomeDir(); err == nil && os.Geteuid() == 0 {
		rc := filepath.Join(home, ".bashrc")
		if _, err := os.Stat(rc); err == nil {
			empty := filepath.Join(dir, "empty-bashrc")
			if err := os.WriteFile(empty, nil, 0o644); err != nil {
				return nil, nil, "", err
			}
			// bash sources ~/.bashrc for every command sshd runs; this
			// machine's runs `pyenv init`, which would be all we measured.
			// Hide it from these servers only, in their own mount namespace.
			script := fmt.Sprintf("mount --bind %s %s && exec \"$@\"", empty, rc)
			wrap = func(a []string) []string {
				return append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"}, a...)
			}
		}
	}
	return args, wrap, fl[0] + " " + fl[1], nil
}

// CPU is the processor time the servers used so far, with the connections
// and commands they served and reaped (from /proc: user, system, and the
// same for reaped children).
func (f *Farm) CPU() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ticks int64
	for _, c := range f.procs {
		if c == nil || c.Process == nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.Process.Pid))
		if err != nil {
			continue
		}
		s := string(b)
		fl := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		// after "(comm)": state is field 3 of stat, utime 14 .. cstime 17
		for _, v := range fl[11:15] {
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}
