package metricsserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/labctl/labctl/lab"
)

var testNodes = []lab.Node{
	{Name: "node1", PrivateAddress: "10.89.0.2", PublicAddress: "10.89.0.2"},
	{Name: "node2", PrivateAddress: "10.89.0.3", PublicAddress: "203.0.113.3"},
}

// request is what a kubelet sends; edit changes it before it is signed.
type request struct {
	cn, user string
	orgs     []string
	groups   []string
	dns      []string
	ips      []string
	emails   []string
	uris     []string
	usages   []certificatesv1.KeyUsage
	signer   string
}

func kubeletRequest(node, ip string) request {
	return request{
		cn: "system:node:" + node, user: "system:node:" + node,
		orgs: []string{"system:nodes"}, groups: []string{"system:nodes", "system:authenticated"},
		dns: []string{node}, ips: []string{ip},
		usages: []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageServerAuth},
		signer: certificatesv1.KubeletServingSignerName,
	}
}

func (r request) csr(t *testing.T, name string) *certificatesv1.CertificateSigningRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: r.cn, Organization: r.orgs}, DNSNames: r.dns, EmailAddresses: r.emails}
	for _, s := range r.ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(s))
	}
	for _, s := range r.uris {
		u, _ := url.Parse(s)
		tmpl.URIs = append(tmpl.URIs, u)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: r.signer, Usages: r.usages, Username: r.user, Groups: r.groups,
		},
	}
}

func TestMatchAcceptsTheNodesOwnRequest(t *testing.T) {
	for _, r := range []request{
		kubeletRequest("node1", "10.89.0.2"),
		kubeletRequest("node2", "10.89.0.3"),
		kubeletRequest("node2", "203.0.113.3"), // its public address, also labctl's
		func() request { // an RSA-style request: key encipherment too
			r := kubeletRequest("node2", "10.89.0.3")
			r.usages = append(r.usages, certificatesv1.UsageKeyEncipherment)
			return r
		}(),
		func() request {
			r := kubeletRequest("node2", "10.89.0.3")
			r.ips = []string{"10.89.0.3", "203.0.113.3"}
			return r
		}(),
	} {
		want := strings.TrimPrefix(r.user, "system:node:")
		if got, err := Match(r.csr(t, "csr-ok"), testNodes); err != nil || got != want {
			t.Errorf("%+v: Match = %q, %v; want %s", r, got, err, want)
		}
	}
}

// Anything but exactly the node's own name and addresses is refused,
// with the reason.
func TestMatchRefuses(t *testing.T) {
	for reason, edit := range map[string]func(*request){
		"IP address 10.89.0.3 is not node1's": func(r *request) { r.ips = []string{"10.89.0.3"} }, // node2's IP
		"IP address 10.89.0.9 is not node1's": func(r *request) { r.ips = []string{"10.89.0.2", "10.89.0.9"} },
		"DNS names [node1 node2]":             func(r *request) { r.dns = []string{"node1", "node2"} }, // an extra SAN
		"DNS names [node1 evil.example.com]":  func(r *request) { r.dns = append(r.dns, "evil.example.com") },
		"DNS names []":                        func(r *request) { r.dns = nil },
		"no IP address":                       func(r *request) { r.ips = nil },
		"e-mail or URI":                       func(r *request) { r.emails = []string{"a@example.com"} },
		"e-mail or URI SANs []":               func(r *request) { r.uris = []string{"spiffe://x/y"} },
		"node9 is not a node of this cluster": func(r *request) { r.user, r.cn, r.dns = "system:node:node9", "system:node:node9", []string{"node9"} },
		`requested by "alice", not a node`:    func(r *request) { r.user = "alice" },
		"is not in group system:nodes":        func(r *request) { r.groups = []string{"system:authenticated"} },
		`subject CN="system:node:node2"`:      func(r *request) { r.cn = "system:node:node2" },
		"subject CN=":                         func(r *request) { r.orgs = []string{"system:masters"} },
		"signer":                              func(r *request) { r.signer = certificatesv1.KubeAPIServerClientKubeletSignerName },
		`usage "client auth" is not for serving`: func(r *request) {
			r.usages = append(r.usages, certificatesv1.UsageClientAuth)
		},
		"lack": func(r *request) { r.usages = []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature} },
	} {
		r := kubeletRequest("node1", "10.89.0.2")
		edit(&r)
		got, err := Match(r.csr(t, "csr-bad"), testNodes)
		var re *RefusedError
		if !errors.As(err, &re) || re.CSR != "csr-bad" || !strings.Contains(err.Error(), reason) {
			t.Errorf("want refusal %q, got %q, %v", reason, got, err)
		}
	}
}

func TestMatchRefusesForgedRequest(t *testing.T) {
	csr := kubeletRequest("node1", "10.89.0.2").csr(t, "csr-forged")
	csr.Spec.Request = []byte("not pem")
	if _, err := Match(csr, testNodes); err == nil || !strings.Contains(err.Error(), "no PEM") {
		t.Errorf("garbage request: %v", err)
	}
	// A valid request whose signature does not cover its content.
	csr = kubeletRequest("node1", "10.89.0.2").csr(t, "csr-forged")
	block, _ := pem.Decode(csr.Spec.Request)
	block.Bytes[len(block.Bytes)-3] ^= 0xff
	csr.Spec.Request = pem.EncodeToMemory(block)
	if _, err := Match(csr, testNodes); err == nil {
		t.Error("tampered request accepted")
	}
}
