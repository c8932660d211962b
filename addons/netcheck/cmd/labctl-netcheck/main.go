// labctl-netcheck is the probe pod of labctl's health checks (see package
// health): it answers /ping, and /check looks up a name and reaches other
// pods and ClusterIPs from inside the pod network, reporting each result.
package main

import (
	"context"
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

func dial(ctx context.Context, addr string) health.Probe {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return health.Probe{Target: addr, Saw: err.Error()}
	}
	c.Close()
	return health.Probe{Target: addr, OK: true, Saw: "connected"}
}
