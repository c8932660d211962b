package kube

import (
	"context"
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
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q, insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`, srv.URL)
	c, err := FromKubeconfig("01/node1", []byte(kubeconfig), nil)
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
