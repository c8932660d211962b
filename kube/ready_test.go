package kube

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// Ready asks /readyz through client-go's real REST client: an API server
// still starting (500 with its failed checks) is not ready, and the error
// says which check failed.
func TestReadyAsksReadyz(t *testing.T) {
	var healthy atomic.Bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		if !healthy.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n")
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	c, err := (&Admin{Server: srv.URL}).client("01/node1", ca, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Ready(context.Background())
	if err == nil || !strings.Contains(err.Error(), "01/node1: /readyz") || !strings.Contains(err.Error(), "[-]etcd failed") {
		t.Errorf("starting: %v", err)
	}
	healthy.Store(true)
	if err := c.Ready(context.Background()); err != nil {
		t.Errorf("ready: %v", err)
	}
}
