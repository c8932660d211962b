package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labctl/labctl/internal/testpki"
)

// check, for real on loopback: a peer that answers /ping, one that is
// down, a lookup that resolves and one that does not, a TCP port open and
// one closed. Each result says what it saw.
func TestCheck(t *testing.T) {
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "pong node2")
	}))
	defer peer.Close()
	down, _ := net.Listen("tcp", "127.0.0.1:0")
	downAddr := down.Addr().String()
	down.Close()
	up := strings.TrimPrefix(peer.URL, "http://")

	api := httptest.NewTLSServer(http.NotFoundHandler()) // its certificate names 127.0.0.1
	defer api.Close()
	apiAddr := strings.TrimPrefix(api.URL, "https://")

	a := check(context.Background(), "node1", []string{"localhost"}, []string{up, downAddr}, []string{apiAddr, downAddr, up})
	if a.Node != "node1" || !a.DNS.OK || !strings.Contains(a.DNS.Saw, "127.0.0.1") {
		t.Errorf("dns %+v", a.DNS)
	}
	if !a.Peers[0].OK || a.Peers[0].Saw != "pong node2" {
		t.Errorf("live peer %+v", a.Peers[0])
	}
	if a.Peers[1].OK || !strings.Contains(a.Peers[1].Saw, "refused") {
		t.Errorf("dead peer %+v", a.Peers[1])
	}
	if !a.TCP[0].OK || a.TCP[1].OK || !strings.Contains(a.TCP[1].Saw, "refused") || a.TCP[2].OK {
		t.Errorf("tcp %+v", a.TCP)
	}
	bad := check(context.Background(), "node1", []string{"no-such-name.invalid"}, nil, nil)
	if bad.DNS.OK || bad.DNS.Saw == "" {
		t.Errorf("a failed lookup reported %+v", bad.DNS)
	}
}

// A TLS server whose certificate does not name the address (a transparent
// proxy answering for any address) is not the API server.
func TestDialRefusesAnotherServer(t *testing.T) {
	cert := testpki.SelfSigned(t, &x509.Certificate{Subject: pkix.Name{CommonName: "some-egress-proxy"}, DNSNames: []string{"proxy.example"}})
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	srv.StartTLS()
	defer srv.Close()
	p := dial(context.Background(), strings.TrimPrefix(srv.URL, "https://"))
	if p.OK || !strings.Contains(p.Saw, "CN=some-egress-proxy") || !strings.Contains(p.Saw, "does not name 127.0.0.1") {
		t.Errorf("%+v", p)
	}
}
