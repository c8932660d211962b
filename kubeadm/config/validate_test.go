package config

import (
	"strings"
	"testing"

	configutil "k8s.io/kubernetes/cmd/kubeadm/app/util/config"
)

// kubeadmValidate runs the checks of `kubeadm config validate` in-process:
// strict decoding (unknown or duplicate fields are errors), defaulting,
// conversion to kubeadm's internal types, and kubeadm's validation. Only
// this test links it; labctl does not (see validate.go).
func kubeadmValidate(b []byte) error { return configutil.ValidateConfig(b, false) }

// Every configuration labctl renders, for every Kubernetes minor and both
// kinds of node, passes kubeadm's own validation.
func TestKubeadmAcceptsEveryRenderedConfig(t *testing.T) {
	for name, render := range goldenCases() {
		b, err := render()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := kubeadmValidate(b); err != nil {
			t.Errorf("%s: kubeadm rejects it: %v", name, err)
		}
	}
	in := initInput("1.34.4", false)
	in.ExtraSANs = []string{"lab.example.com", "*.lab.example.com", "2001:db8::1", "203.0.113.9"}
	b, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := kubeadmValidate(b); err != nil {
		t.Errorf("extra SANs: kubeadm rejects it: %v", err)
	}
}

// The cheap check in Render refuses exactly the names kubeadm refuses.
func TestSANCheckAgreesWithKubeadm(t *testing.T) {
	for _, san := range []string{"lab.example.com", "*.lab.example.com", "node1", "10.0.0.1", "2001:db8::1",
		"-bad-.example", "bad_name", "UPPER.example", "a..b", "*", "*.*.example", "x.-y", strings.Repeat("a", 64) + ".example"} {
		in := initInput("1.34.4", false)
		in.ExtraSANs = []string{san}
		_, ours := Render(in)
		in.ExtraSANs = nil
		plain, err := Render(in)
		if err != nil {
			t.Fatal(err)
		}
		// The same configuration with the SAN added, checked by kubeadm.
		withSAN := strings.Replace(string(plain), "  - 127.0.0.1\n", "  - 127.0.0.1\n  - '"+san+"'\n", 1)
		if withSAN == string(plain) {
			t.Fatal("no certSANs list in the rendered configuration")
		}
		theirs := kubeadmValidate([]byte(withSAN))
		if (ours == nil) != (theirs == nil) {
			t.Errorf("SAN %q: labctl says %v, kubeadm says %v", san, ours, theirs)
		}
		if ours != nil && !strings.Contains(ours.Error(), "kubeadm rejects the init configuration: apiServer.certSANs") {
			t.Errorf("SAN %q: %v", san, ours)
		}
	}
}
