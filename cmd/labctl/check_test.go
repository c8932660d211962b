package main

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/internal/testenv"
	"github.com/labctl/labctl/internal/testpki"
)

// apiServer is a stand-in API server that knows one deployment.
func apiServer(t *testing.T, pki *testPKI) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/v1/namespaces/kube-system":
			fmt.Fprint(w, `{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"kube-system"}}`)
		case "/apis/apps/v1/namespaces/default/deployments/pingpong":
			fmt.Fprint(w, `{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"pingpong","namespace":"default"},"status":{"readyReplicas":1}}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// testPKI is a cluster CA as kubeadm makes one: it signs the API
// server's serving certificate (127.0.0.1) and an admin client certificate.
type testPKI struct {
	caPEM, certPEM, keyPEM []byte
	server                 tls.Certificate
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	ca := testpki.NewCA(t, nil)
	server := ca.Issue(t, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}})
	admin := ca.Issue(t, &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "kubernetes-admin"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return &testPKI{caPEM: ca.PEM, certPEM: admin.CertPEM, keyPEM: admin.KeyPEM, server: server.TLS}
}

// labctl check through the real SSH engine and tunnel: cluster 1's node1
// is an OpenSSH server on loopback whose tunnel reaches a stand-in API
// server; cluster 2's sshd is stopped: its row says unreachable within
// the timeout and the grid is printed anyway.
func TestCheckOverSSH(t *testing.T) {
	s1 := testenv.StartOpenSSH(t, testenv.OpenSSHOptions{})
	s2 := testenv.StartOpenSSH(t, testenv.OpenSSHOptions{})
	auth, err := os.ReadFile(filepath.Join(s1.Dir, "authorized_keys"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(s2.Dir, "authorized_keys"), auth, 0o600)
	l := &signalLab{sshd: s1, bin: labctlBinary(t)}
	dir := t.TempDir()
	l.file, l.state = filepath.Join(dir, "lab.yaml"), filepath.Join(dir, "state")
	yaml := fmt.Sprintf("name: check-ssh\nkubernetes: {cni: bridge}\nprovider:\n  type: inventory\n  clusters:\n    - [{address: %s, port: %d}]\n    - [{address: %s, port: %d}]\nssh: {user: root, identityFile: %s}\n",
		s1.Address(), s1.Port(), s2.Address(), s2.Port(), s1.KeyFile)
	os.WriteFile(l.file, []byte(yaml), 0o600)
	if out, err := l.run(t, "up", "--only", "provision"); err != nil {
		t.Fatalf("up --only provision: %v\n%s", err, out)
	}
	pki := newPKI(t)
	api := apiServer(t, pki)
	ca, certPEM, keyPEM := pki.caPEM, pki.certPEM, pki.keyPEM
	kubeconfig := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters: [{name: k, cluster: {server: %s, certificate-authority-data: %s}}]\nusers: [{name: u, user: {client-certificate-data: %s, client-key-data: %s}}]\ncontexts: [{name: c, context: {cluster: k, user: u}}]\ncurrent-context: c\n",
		api.URL, base64.StdEncoding.EncodeToString(ca), base64.StdEncoding.EncodeToString(certPEM), base64.StdEncoding.EncodeToString(keyPEM))
	path := filepath.Join(l.state, "state.json")
	var st map[string]any
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	for _, c := range st["clusters"].([]any) {
		c.(map[string]any)["kubeconfig"] = kubeconfig
		c.(map[string]any)["ca"] = string(ca) // as recorded at kubeadm init
	}
	data, _ = json.Marshal(st)
	os.WriteFile(path, data, 0o600)

	s2.Stop()
	start := time.Now()
	out, err := l.run(t, "check", "first-deployment", "scaling", "--timeout", "5s")
	if err != nil {
		t.Fatalf("labctl check: %v\n%s", err, out)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("labctl check took %s with a 5s timeout", d)
	}
	grid := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"CLUSTER pingpong pingpong-8 01 ok FAIL 02 unreachable",
		"02: unreachable: ",
		"1 of 2 attendees have finished chapter first-deployment; behind: 02 (unreachable)",
		"0 of 2 attendees have finished chapter scaling; behind: 01 (pingpong-8: deployment pingpong: 1 ready replica, want 8), 02 (unreachable)",
	} {
		if !strings.Contains(grid, want) {
			t.Errorf("labctl check lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, string(keyPEM[40:80])) {
		t.Error("the token is in the output")
	}
}
