package hostile

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/labctl/labctl/internal/testpki"
)

// pki is one cluster's CA with a server and a client certificate, as
// kubeadm makes them.
type pki struct {
	caPEM, certPEM, keyPEM []byte
	server                 tls.Certificate
	pool                   *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	ca := testpki.NewCA(t, nil)
	issue := func(cn string, usage x509.ExtKeyUsage, ips []net.IP) testpki.Leaf {
		return ca.Issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: cn}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			KeyUsage: x509.KeyUsageDigitalSignature, IPAddresses: ips})
	}
	p := &pki{caPEM: ca.PEM, pool: x509.NewCertPool()}
	p.pool.AddCert(ca.Cert)
	admin := issue("kubernetes-admin", x509.ExtKeyUsageClientAuth, nil)
	p.certPEM, p.keyPEM = admin.CertPEM, admin.KeyPEM
	p.server = issue("kube-apiserver", x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")}).TLS
	return p
}

// apiServer is a TLS server that answers GET kube-system as an API server
// would, requiring a client certificate of p's CA.
func apiServer(t *testing.T, p *pki) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"kube-system"}}`)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &hits
}

// kubeconfig is an admin.conf with server and p's credentials, plus
// extra lines in the cluster and the user entries.
func kubeconfig(server string, p *pki, cluster, user string) string {
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubernetes
  cluster:
    server: %s
    certificate-authority-data: %s
%s
users:
- name: kubernetes-admin
  user:
    client-certificate-data: %s
    client-key-data: %s
%s
contexts:
- name: kubernetes-admin@kubernetes
  context: {cluster: kubernetes, user: kubernetes-admin}
current-context: kubernetes-admin@kubernetes
preferences: {}
`, server, b64(p.caPEM), cluster, b64(p.certPEM), b64(p.keyPEM), user)
}
