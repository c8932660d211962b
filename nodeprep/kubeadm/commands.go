package kubeadm

import (
	"fmt"
	"strings"
	"time"
)

// Where labctl puts kubeadm's configuration on a node (0600: the join file
// holds a token).
const (
	InitConfigPath = "/etc/kubernetes/labctl/kubeadm-init.yaml"
	JoinConfigPath = "/etc/kubernetes/labctl/kubeadm-join.yaml"
	caCertPath     = "/etc/kubernetes/pki/ca.crt"
)

// InitCommand runs `kubeadm init` on node1. The join command kubeadm would
// print holds its own token; it is not printed, so it cannot reach a log.
func InitCommand(configPath string) string {
	return "kubeadm init --config " + configPath + " --skip-token-print"
}

// JoinCommand runs `kubeadm join` on a worker.
func JoinCommand(configPath string) string {
	return "kubeadm join --config " + configPath
}

// CACertHashCommand prints the SHA-256 of the cluster CA's public key (its
// DER SubjectPublicKeyInfo, which is what kubeadm pins), run on node1.
// pipefail makes a missing or unreadable certificate fail the command
// instead of hashing empty input.
func CACertHashCommand() string { return caCertHashCommand(caCertPath) }

func caCertHashCommand(path string) string {
	return "bash -c 'set -o pipefail; openssl x509 -pubkey -noout -in " + path +
		" | openssl pkey -pubin -outform der | sha256sum'"
}

// sha256 of empty input: what the pipeline prints when openssl printed nothing.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// ParseCACertHash turns the output of CACertHashCommand ("<64 hex>  -")
// into "sha256:<64 hex>", refusing anything else.
func ParseCACertHash(out string) (string, error) {
	lines := nonEmptyLines(out)
	if len(lines) != 1 {
		return "", fmt.Errorf("CA hash: want one line of sha256sum output, got %d lines", len(lines))
	}
	f := strings.Fields(lines[0])
	if len(f) != 2 || f[1] != "-" {
		return "", fmt.Errorf("CA hash: unexpected sha256sum output %q", lines[0])
	}
	h := "sha256:" + f[0]
	if !caHashRE.MatchString(h) {
		return "", fmt.Errorf("CA hash: %q is not 64 lowercase hex digits", f[0])
	}
	if f[0] == emptySHA256 {
		return "", fmt.Errorf("CA hash: hash of empty input (is %s readable?)", caCertPath)
	}
	return h, nil
}

// TokenCreateCommand creates a bootstrap token on node1 for joining workers,
// valid for ttl (rounded up to whole minutes, at least one).
func TokenCreateCommand(ttl time.Duration) string {
	m := int((ttl + time.Minute - 1) / time.Minute)
	if m < 1 {
		m = 1
	}
	return fmt.Sprintf("kubeadm token create --ttl %dm --description 'labctl join'", m)
}

// ParseToken reads the stdout of TokenCreateCommand: exactly one line
// holding exactly one bootstrap token. Errors never quote the output, which
// may be the secret.
func ParseToken(stdout string) (Token, error) {
	lines := nonEmptyLines(stdout)
	if len(lines) != 1 {
		return Token{}, fmt.Errorf("kubeadm token create: want one line on stdout, got %d", len(lines))
	}
	if !tokenRE.MatchString(lines[0]) {
		return Token{}, fmt.Errorf("kubeadm token create: stdout (%d characters) is not a bootstrap token [a-z0-9]{6}.[a-z0-9]{16}", len(lines[0]))
	}
	return NewToken(lines[0]), nil
}

// CgroupVersionCommand prints the file system type of /sys/fs/cgroup:
// "cgroup2fs" on a unified (v2) host, "tmpfs" on a v1 or hybrid one.
func CgroupVersionCommand() string {
	return "stat -fc %T /sys/fs/cgroup/"
}

// ParseCgroupV1 reads the output of CgroupVersionCommand; true means the
// node needs Input.CgroupV1.
func ParseCgroupV1(out string) (bool, error) {
	switch strings.TrimSpace(out) {
	case "cgroup2fs":
		return false, nil
	case "tmpfs":
		return true, nil
	}
	return false, fmt.Errorf("cgroup version: unexpected file system type %q for /sys/fs/cgroup", strings.TrimSpace(out))
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
