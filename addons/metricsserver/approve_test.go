package metricsserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/labctl/labctl/internal/testpki"
	"github.com/labctl/labctl/kube"
	"github.com/labctl/labctl/kube/kubefake"
	"github.com/labctl/labctl/lab"
)

// serving is the "kubelet" serving certificate ca signs for ip.
func serving(t *testing.T, ca *testpki.CA, ip string) tls.Certificate {
	return ca.Issue(t, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "system:node:node1"},
		IPAddresses: []net.IP{net.ParseIP(ip)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}).TLS
}

// kubelet is a TLS server that has no serving certificate until issued.
type kubelet struct {
	mu   sync.Mutex
	cert *tls.Certificate
	ln   net.Listener
}

func startKubelet(t *testing.T) *kubelet {
	k := &kubelet{}
	cfg := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.cert == nil {
			return nil, errNoCert
		}
		return k.cert, nil
	}}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	k.ln = ln
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	return k
}

var errNoCert = &net.AddrError{Err: "no serving certificate available for the kubelet"}

func (k *kubelet) issue(c tls.Certificate) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cert = &c
}

// The loop approves node1's own request (and not a request for another
// node's address), then returns once node1's kubelet serves a certificate
// the cluster CA signed for its address.
func TestServingCertsApprovesAndVerifies(t *testing.T) {
	ca := testpki.NewCA(t, nil)
	k := startKubelet(t)
	nodes := []lab.Node{{Name: "node1", PrivateAddress: "127.0.0.1", PublicAddress: "127.0.0.1"}}
	good := kubeletRequest("node1", "127.0.0.1").csr(t, "csr-good")
	stolen := kubeletRequest("node1", "10.89.0.3").csr(t, "csr-stolen")
	cs := fake.NewClientset(good, stolen)
	var dialed []string
	cl := &kube.Client{Name: "01/node1", Typed: kubefake.Typed(cs), Config: &rest.Config{
		TLSClientConfig: rest.TLSClientConfig{CAData: ca.PEM},
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialed = append(dialed, addr)
			return (&net.Dialer{}).DialContext(ctx, network, k.ln.Addr().String())
		},
	}}
	// The "controller manager": signs once the request is approved.
	go func() {
		for range 200 {
			c, err := cs.CertificatesV1().CertificateSigningRequests().Get(context.Background(), "csr-good", metav1.GetOptions{})
			if err == nil && decided(c) {
				k.issue(serving(t, ca, "127.0.0.1"))
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	var logs []string
	logf := func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }
	if err := ServingCerts(context.Background(), cl, 1, nodes, 20*time.Second, logf); err != nil {
		t.Fatal(err)
	}
	for name, approved := range map[string]bool{"csr-good": true, "csr-stolen": false} {
		c, err := cs.CertificatesV1().CertificateSigningRequests().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := len(c.Status.Conditions) == 1 && c.Status.Conditions[0].Type == certificatesv1.CertificateApproved
		if got != approved || (!approved && len(c.Status.Conditions) > 0) {
			t.Errorf("%s: conditions %+v, want approved=%v", name, c.Status.Conditions, approved)
		}
	}
	if len(dialed) == 0 || dialed[0] != "127.0.0.1:10250" {
		t.Errorf("dialed %v, want node1's kubelet port", dialed)
	}
	if got := strings.Join(logs, "\n"); !strings.Contains(got, "approved kubelet serving certificate csr-good for node1") ||
		!strings.Contains(got, "CSR csr-stolen refused: IP address 10.89.0.3 is not node1's") {
		t.Errorf("log:\n%s", got)
	}
}

// A kubelet serving a certificate the cluster CA did not sign (its old
// self-signed one) is an error naming the node and what was seen.
func TestServingCertsRefusesSelfSigned(t *testing.T) {
	ca, other := testpki.NewCA(t, nil), testpki.NewCA(t, nil)
	k := startKubelet(t)
	k.issue(serving(t, other, "127.0.0.1"))
	cl := &kube.Client{Name: "02/node1", Typed: kubefake.New(), Config: &rest.Config{
		TLSClientConfig: rest.TLSClientConfig{CAData: ca.PEM},
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, k.ln.Addr().String())
		},
	}}
	nodes := []lab.Node{{Name: "node2", PrivateAddress: "127.0.0.1"}}
	err := ServingCerts(context.Background(), cl, 2, nodes, time.Millisecond, func(string, ...any) {})
	if err == nil || !strings.Contains(err.Error(), "02/node2: no verified kubelet serving certificate") || !strings.Contains(err.Error(), "x509") {
		t.Fatalf("err = %v", err)
	}
}
