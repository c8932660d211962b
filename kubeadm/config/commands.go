package config

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Where labctl puts kubeadm's configuration on a node (0600: the join file
// holds a token).
const (
	InitConfigPath = "/etc/kubernetes/labctl/kubeadm-init.yaml"
	JoinConfigPath = "/etc/kubernetes/labctl/kubeadm-join.yaml"
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

// CACertHash is kubeadm's pin of a CA certificate, as
// --discovery-token-ca-cert-hash takes it: "sha256:" and the hex SHA-256
// of the certificate's DER SubjectPublicKeyInfo. labctl computes it from
// the CA it recorded at kubeadm init, never from what node1 says later.
func CACertHash(ca *x509.Certificate) string {
	sum := sha256.Sum256(ca.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
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
