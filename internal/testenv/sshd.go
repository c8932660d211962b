package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// SSHD is one real OpenSSH server on a loopback address, run as this user
// with its own host key and authorized_keys.
type SSHD struct {
	Addr    string // host:port
	HostKey string // authorized_keys format
	cmd     *exec.Cmd
}

// StartSSHDFarm starts n OpenSSH servers on 127.0.0.2, 127.0.0.3, ... port
// port, accepting authorizedKey. Stop them with StopSSHDs.
func StartSSHDFarm(ctx context.Context, dir string, n, port int, authorizedKey string) ([]*SSHD, error) {
	sshd, err := exec.LookPath("sshd")
	if err != nil {
		sshd = "/usr/sbin/sshd"
	}
	if _, err := os.Stat(sshd); err != nil {
		return nil, fmt.Errorf("sshd not found (apt-get install openssh-server): %w", err)
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return nil, err
	}
	auth := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(auth, []byte(authorizedKey+"\n"), 0o600); err != nil {
		return nil, err
	}
	hostKey := filepath.Join(dir, "host_ed25519")
	if _, err := os.Stat(hostKey); err != nil {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("ssh-keygen: %v: %s", err, out)
		}
	}
	pub, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(pub))
	hostPub := f[0] + " " + f[1]
	empty, rc := "", ""
	if home, err := os.UserHomeDir(); err == nil && os.Geteuid() == 0 {
		if _, err := os.Stat(filepath.Join(home, ".bashrc")); err == nil {
			rc = filepath.Join(home, ".bashrc")
			empty = filepath.Join(dir, "empty-bashrc")
			if err := os.WriteFile(empty, nil, 0o644); err != nil {
				return nil, err
			}
		}
	}
	var out []*SSHD
	for i := 0; i < n; i++ {
		addr := net.JoinHostPort(fmt.Sprintf("127.0.%d.%d", (i+2)/250, (i+2)%250+1), fmt.Sprint(port))
		args := []string{sshd, "-D", "-e", "-f", "/dev/null",
			"-o", "ListenAddress=" + addr, "-o", "HostKey=" + hostKey,
			"-o", "AuthorizedKeysFile=" + auth, "-o", "StrictModes=no", "-o", "UsePAM=no",
			"-o", "PermitRootLogin=yes", "-o", "PidFile=none", "-o", "MaxStartups=200:30:400",
			"-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no",
			"-o", "Subsystem=sftp internal-sftp", "-o", "LogLevel=ERROR"}
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		if empty != "" {
			// bash sources ~/.bashrc for every command sshd runs; this
			// machine's runs `pyenv init`, which would be all we measured.
			// Hide it from these servers only, in their own mount namespace.
			script := fmt.Sprintf("mount --bind %s %s && exec \"$@\"", empty, rc)
			cmd = exec.CommandContext(ctx, "unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c", script, "sh"}, args...)...)
		}
		if err := cmd.Start(); err != nil {
			StopSSHDs(out)
			return nil, fmt.Errorf("sshd %s: %w", addr, err)
		}
		out = append(out, &SSHD{Addr: addr, HostKey: hostPub, cmd: cmd})
	}
	for _, s := range out {
		if err := waitListening(ctx, s.Addr, 10*time.Second); err != nil {
			StopSSHDs(out)
			return nil, err
		}
	}
	return out, nil
}

// StopSSHDs stops the servers.
func StopSSHDs(ss []*SSHD) {
	for _, s := range ss {
		if s.cmd.Process != nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	}
}

func waitListening(ctx context.Context, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("sshd %s did not start listening: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
