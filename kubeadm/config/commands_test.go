package config

import (
	"crypto/elliptic"
	"strings"
	"testing"
	"time"

	"k8s.io/kubernetes/cmd/kubeadm/app/util/pubkeypin"

	"github.com/labctl/labctl/internal/testpki"
)

func TestCommandsGolden(t *testing.T) {
	got := strings.Join([]string{
		"# init", InitCommand(InitConfigPath),
		"# join", JoinCommand(JoinConfigPath),
		"# token 15m", TokenCreateCommand(15 * time.Minute),
		"# token 90s", TokenCreateCommand(90 * time.Second),
		"# token 0", TokenCreateCommand(0),
		"# cgroup", CgroupVersionCommand(),
		"# serving certs probe", ServingCertsProbe,
		"# serving certs on", ServingCertsCommand(true),
		"# serving certs off", ServingCertsCommand(false),
		"# upload kubelet config", UploadKubeletConfigCommand(InitConfigPath),
	}, "\n") + "\n"
	checkGolden(t, "commands", []byte(got))
}

func TestParseToken(t *testing.T) {
	tok, err := ParseToken("\n" + testToken + "\n")
	if err != nil || tok.Reveal() != testToken {
		t.Errorf("ParseToken = %v, %v", tok, err)
	}
	for _, bad := range []string{
		"", "abcdef.0123456789abcde", "ABCDEF.0123456789abcdef", "abcdef-0123456789abcdef",
		testToken + " extra", testToken + "\n" + testToken, "kubeadm join 10.0.0.1:6443 --token " + testToken,
	} {
		_, err := ParseToken(bad)
		if err == nil {
			t.Errorf("ParseToken(%q) accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "0123456789") {
			t.Errorf("ParseToken error quotes its input: %v", err)
		}
	}
}

func TestParseCgroupV1(t *testing.T) {
	for out, want := range map[string]bool{"cgroup2fs\n": false, "tmpfs\n": true} {
		if got, err := ParseCgroupV1(out); err != nil || got != want {
			t.Errorf("ParseCgroupV1(%q) = %v, %v", out, got, err)
		}
	}
	if _, err := ParseCgroupV1("ext4\n"); err == nil {
		t.Error("ParseCgroupV1(ext4) accepted")
	}
}

// TestCACertHashMatchesKubeadm compares labctl's pin of a CA made here
// with kubeadm's own.
func TestCACertHashMatchesKubeadm(t *testing.T) {
	for _, curve := range []elliptic.Curve{elliptic.P256(), elliptic.P384()} {
		cert := testpki.NewCA(t, curve).Cert
		if got, want := CACertHash(cert), pubkeypin.Hash(cert); got != want || !caHashRE.MatchString(got) {
			t.Errorf("labctl pins %s, kubeadm pins %s", got, want)
		}
	}
}
