package kubeadm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/kubernetes/cmd/kubeadm/app/util/pubkeypin"
)

func TestCommandsGolden(t *testing.T) {
	got := strings.Join([]string{
		"# init", InitCommand(InitConfigPath),
		"# join", JoinCommand(JoinConfigPath),
		"# ca hash", CACertHashCommand(),
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

func TestParseCACertHash(t *testing.T) {
	good := strings.Repeat("0123456789abcdef", 4)
	h, err := ParseCACertHash(good + "  -\n")
	if err != nil || h != "sha256:"+good {
		t.Errorf("ParseCACertHash = %q, %v", h, err)
	}
	for _, bad := range []string{
		"", "\n", good, good + "  /etc/kubernetes/pki/ca.crt\n",
		strings.ToUpper(good) + "  -\n", good[:63] + "  -\n", good + "0  -\n",
		good + "  -\n" + good + "  -\n", emptySHA256 + "  -\n",
		"openssl: Can't open /etc/kubernetes/pki/ca.crt\n" + good + "  -\n",
	} {
		if h, err := ParseCACertHash(bad); err == nil {
			t.Errorf("ParseCACertHash(%q) = %q, want an error", bad, h)
		}
	}
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

// TestCACertHashMatchesKubeadm runs the very command labctl sends to node1
// on a CA certificate made here, and compares with kubeadm's own pin.
func TestCACertHashMatchesKubeadm(t *testing.T) {
	for _, tool := range []string{"bash", "openssl", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubernetes"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	path := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", "-c", caCertHashCommand(path)).Output()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCACertHash(string(out))
	if err != nil {
		t.Fatal(err)
	}
	if want := pubkeypin.Hash(cert); got != want {
		t.Errorf("command says %s, kubeadm pins %s", got, want)
	}
	// A missing certificate fails the command (pipefail), not hashes nothing.
	if out, err := exec.Command("sh", "-c", caCertHashCommand(path+".missing")).Output(); err == nil {
		t.Errorf("missing CA: command succeeded with %q", out)
	}
}
