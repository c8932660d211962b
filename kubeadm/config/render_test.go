package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/labctl/labctl/internal/golden"
)

// A token and CA hash that only exist in tests.
const (
	testToken  = "abcdef.0123456789abcdef"
	testCAHash = "sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
)

func initInput(version string, inContainer bool) Input {
	return Input{
		KubernetesVersion: version, NodeName: "node1",
		PublicAddress: "203.0.113.10", PrivateAddress: "10.0.0.11",
		InContainer: inContainer, CgroupV1: inContainer,
	}
}

func joinInput(version string, inContainer bool) JoinInput {
	return JoinInput{
		KubernetesVersion: version, NodeName: "node2", PrivateAddress: "10.0.0.12",
		APIServer: "10.0.0.11", Token: NewToken(testToken), CACertHashes: []string{testCAHash},
		InContainer: inContainer,
	}
}

// goldenCases are the files under testdata: every API version labctl
// writes, on a VM and in a container.
func goldenCases() map[string]func() ([]byte, error) {
	cases := map[string]func() ([]byte, error){}
	for _, v := range []string{"1.34.4", "1.35.0", "1.30.14"} {
		for _, c := range []bool{false, true} {
			where := map[bool]string{false: "vm", true: "container"}[c]
			cases["init-"+v+"-"+where] = func() ([]byte, error) { return Render(initInput(v, c)) }
			cases["join-"+v+"-"+where] = func() ([]byte, error) { return RenderJoin(joinInput(v, c)) }
		}
	}
	cases["init-1.34.4-userns"] = func() ([]byte, error) {
		in := initInput("1.34.4", true)
		in.UserNamespace = true
		return Render(in)
	}
	return cases
}

func TestRenderGolden(t *testing.T) {
	for name, render := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			got, err := render()
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, name, got)
		})
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Check(t, name+".golden", string(got))
}

func TestRenderAPIVersionByMinor(t *testing.T) {
	for v, want := range map[string]string{"1.30.0": "kubeadm.k8s.io/v1beta3", "1.31.0": "kubeadm.k8s.io/v1beta4", "1.37.2": "kubeadm.k8s.io/v1beta4"} {
		b, err := Render(initInput(v, false))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if n := strings.Count(string(b), "apiVersion: "+want+"\n"); n != 2 {
			t.Errorf("%s: %d documents of %s, want 2:\n%s", v, n, want, b)
		}
		j, err := RenderJoin(joinInput(v, false))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if !strings.HasPrefix(string(j), "apiVersion: "+want+"\n") {
			t.Errorf("%s: join is not %s:\n%s", v, want, j)
		}
	}
}

func TestFailCgroupV1OnlyWhereItExists(t *testing.T) {
	for v, want := range map[string]bool{"1.30.5": false, "1.31.0": true, "1.35.0": true} {
		b, err := Render(initInput(v, true))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(b), "failCgroupV1: false"); got != want {
			t.Errorf("%s: failCgroupV1 written = %v, want %v", v, got, want)
		}
	}
	in := initInput("1.35.0", false) // cgroup v2 VM: kubelet's default is right
	b, err := Render(in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "failCgroupV1") {
		t.Errorf("failCgroupV1 set on a cgroup v2 host:\n%s", b)
	}
}

func TestRenderRejects(t *testing.T) {
	mod := func(f func(*Input)) Input { in := initInput("1.34.4", false); f(&in); return in }
	for _, c := range []struct {
		in   Input
		want string
	}{
		{mod(func(in *Input) { in.KubernetesVersion = "1.29.9" }), "supported versions are 1.30 to 1.37"},
		{mod(func(in *Input) { in.KubernetesVersion = "1.38.0" }), "supported versions are 1.30 to 1.37"},
		{mod(func(in *Input) { in.KubernetesVersion = "latest" }), "want 1.MINOR.PATCH"},
		{mod(func(in *Input) { in.NodeName = "Node_1" }), "nodeName"},
		{mod(func(in *Input) { in.PrivateAddress = "10.0.0.300" }), "privateAddress"},
		{mod(func(in *Input) { in.PublicAddress = "example.com" }), "publicAddress"},
		{mod(func(in *Input) { in.PodSubnet = "10.244.0.0/33" }), "podSubnet"},
		{mod(func(in *Input) { in.ServiceSubnet = "10.96.0.1/12" }), "host bits"},
		{mod(func(in *Input) { in.PodSubnet = "10.96.0.0/16" }), "overlaps serviceSubnet"},
		{mod(func(in *Input) { in.PodSubnet = "10.0.0.0/16" }), "contains the node's privateAddress"},
		{mod(func(in *Input) { in.CRISocket = "/run/containerd/containerd.sock" }), "criSocket"},
		{mod(func(in *Input) { in.ExtraSANs = []string{"a b"} }), "extraSANs"},
		// What kubeadm would refuse (validate.go):
		{mod(func(in *Input) { in.ExtraSANs = []string{"-bad-.example"} }), "kubeadm rejects the init configuration: apiServer.certSANs"},
	} {
		_, err := Render(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Render(%+v) = %v, want an error containing %q", c.in, err, c.want)
		}
	}
}

func TestRenderJoinRejects(t *testing.T) {
	mod := func(f func(*JoinInput)) JoinInput { in := joinInput("1.34.4", false); f(&in); return in }
	for _, c := range []struct {
		in   JoinInput
		want string
	}{
		{mod(func(in *JoinInput) { in.KubernetesVersion = "1.29.0" }), "supported versions"},
		{mod(func(in *JoinInput) { in.Token = NewToken("abcdef.0123456789ABCDEF") }), "token: not a bootstrap token"},
		{mod(func(in *JoinInput) { in.Token = NewToken("") }), "token: not a bootstrap token"},
		{mod(func(in *JoinInput) { in.CACertHashes = nil }), "at least one is required"},
		{mod(func(in *JoinInput) { in.CACertHashes = []string{"sha256:abc"} }), "want sha256:<64 lowercase hex>"},
		{mod(func(in *JoinInput) { in.CACertHashes = []string{strings.Replace(testCAHash, "sha256", "md5", 1)} }), "caCertHashes"},
		{mod(func(in *JoinInput) { in.APIServer = "node1:6443" }), "apiServer"},
		{mod(func(in *JoinInput) { in.PrivateAddress = "" }), "privateAddress"},
		{mod(func(in *JoinInput) { in.NodeName = "" }), "nodeName"},
	} {
		_, err := RenderJoin(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("RenderJoin = %v, want an error containing %q", err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "0123456789") {
			t.Errorf("error reveals the token: %v", err)
		}
	}
}

func TestJoinPinsCA(t *testing.T) {
	for name, render := range goldenCases() {
		if !strings.HasPrefix(name, "join-") {
			continue
		}
		b, err := render()
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if strings.Contains(s, "unsafeSkipCAVerification") || !strings.Contains(s, "- "+testCAHash+"\n") {
			t.Errorf("%s does not pin the CA hash (or mentions unsafeSkipCAVerification):\n%s", name, s)
		}
	}
}

func TestTokenNeverPrints(t *testing.T) {
	tok := NewToken(testToken)
	in := joinInput("1.34.4", false)
	for _, s := range []string{
		fmt.Sprint(tok), fmt.Sprintf("%s %v %+v %#v %q", tok, tok, tok, tok, tok),
		fmt.Sprintf("%v %+v %#v", in, in, in),
	} {
		if strings.Contains(s, "0123456789abcdef") || strings.Contains(s, "abcdef.") {
			t.Errorf("token printed: %s", s)
		}
	}
	if tok.Reveal() != testToken {
		t.Errorf("Reveal() = %q", tok.Reveal())
	}
}

// TestServingCerts: kubelets ask for CA-signed serving certificates only
// when an add-on needs them, in the form ServingCertsProbe looks for.
func TestServingCerts(t *testing.T) {
	for _, on := range []bool{false, true} {
		in := initInput("1.34.4", true)
		in.ServingCerts = on
		b, err := Render(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(b), "\nserverTLSBootstrap: true\n"); got != on {
			t.Errorf("ServingCerts %v: serverTLSBootstrap: true written = %v:\n%s", on, got, b)
		}
	}
}
