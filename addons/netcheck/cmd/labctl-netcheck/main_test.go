package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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

	a := check(context.Background(), "node1", []string{"localhost"}, []string{up, downAddr}, []string{up, downAddr})
	if a.Node != "node1" || !a.DNS.OK || !strings.Contains(a.DNS.Saw, "127.0.0.1") {
		t.Errorf("dns %+v", a.DNS)
	}
	if !a.Peers[0].OK || a.Peers[0].Saw != "pong node2" {
		t.Errorf("live peer %+v", a.Peers[0])
	}
	if a.Peers[1].OK || !strings.Contains(a.Peers[1].Saw, "refused") {
		t.Errorf("dead peer %+v", a.Peers[1])
	}
	if !a.TCP[0].OK || a.TCP[1].OK || !strings.Contains(a.TCP[1].Saw, "refused") {
		t.Errorf("tcp %+v", a.TCP)
	}
	bad := check(context.Background(), "node1", []string{"no-such-name.invalid"}, nil, nil)
	if bad.DNS.OK || bad.DNS.Saw == "" {
		t.Errorf("a failed lookup reported %+v", bad.DNS)
	}
}
