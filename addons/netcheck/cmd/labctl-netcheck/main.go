// labctl-netcheck is the probe pod of labctl's health checks (see package
// health): it answers /ping, and /check looks up a name and reaches other
// pods and ClusterIPs from inside the pod network, reporting each result.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	health "github.com/labctl/labctl/health/wire"
)

func main() {
	addr := flag.String("listen", fmt.Sprintf(":%d", health.Port), "address to serve on")
	flag.Parse()
	node := os.Getenv("NODE_NAME")
	mux := http.NewServeMux()
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "pong %s\n", node)
	})
	mux.HandleFunc("/check", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(check(ctx, node, r.URL.Query()["dns"], r.URL.Query()["peer"], r.URL.Query()["tcp"]))
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Printf("labctl-netcheck on %s serving %s", node, *addr)
	log.Fatal(srv.ListenAndServe())
}

// check runs every probe at once; each has its own short timeout so one
// dead peer cannot hide the others' results.
func check(ctx context.Context, node string, dns, peers, tcp []string) health.Answer {
	a := health.Answer{Node: node, Peers: make([]health.Probe, len(peers)), TCP: make([]health.Probe, len(tcp))}
	var wg sync.WaitGroup
	for _, name := range dns {
		wg.Go(func() { a.DNS = lookup(ctx, name) })
	}
	for i, p := range peers {
		wg.Go(func() { a.Peers[i] = ping(ctx, p) })
	}
	for i, t := range tcp {
		wg.Go(func() { a.TCP[i] = dial(ctx, t) })
	}
	wg.Wait()
	return a
}

func lookup(ctx context.Context, name string) health.Probe {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, name)
	if err != nil {
		return health.Probe{Target: name, Saw: err.Error()}
	}
	return health.Probe{Target: name, OK: len(addrs) > 0, Saw: strings.Join(addrs, " ")}
}

func ping(ctx context.Context, addr string) health.Probe {
	ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/ping", nil)
	if err != nil {
		return health.Probe{Target: addr, Saw: err.Error()}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return health.Probe{Target: addr, Saw: err.Error()}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	saw := strings.TrimSpace(string(body))
	return health.Probe{Target: addr, OK: resp.StatusCode == http.StatusOK && strings.HasPrefix(saw, "pong"), Saw: saw}
}

// dial reaches a TLS server (the API server's ClusterIP) and proves it is
// the one meant: its certificate must name the address dialled. A bare TCP
// connect is not proof: on some networks a transparent proxy accepts
// connections to any address that is not routed locally.
func dial(ctx context.Context, addr string) health.Probe {
	ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return health.Probe{Target: addr, Saw: err.Error()}
	}
	// The pod has no CA to verify with (no service account token); the
	// name check below is what this probe needs.
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // identity checked below
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return health.Probe{Target: addr, Saw: err.Error()}
	}
	defer c.Close()
	return certNames(addr, host, c.(*tls.Conn).ConnectionState().PeerCertificates)
}

// certNames says whether the leaf certificate names host (an IP address
// SAN, or a DNS name for a name).
func certNames(addr, host string, chain []*x509.Certificate) health.Probe {
	if len(chain) == 0 {
		return health.Probe{Target: addr, Saw: "TLS server sent no certificate"}
	}
	if err := chain[0].VerifyHostname(host); err != nil {
		return health.Probe{Target: addr, Saw: fmt.Sprintf("the server's certificate (CN=%s) does not name %s: not the API server", chain[0].Subject.CommonName, host)}
	}
	return health.Probe{Target: addr, OK: true, Saw: "TLS, certificate names " + host}
}
