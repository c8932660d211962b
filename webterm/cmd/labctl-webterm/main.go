// Command labctl-webterm is the attendee's browser terminal on node1 (see
// package webterm/agent). labctl up installs it as a systemd service that
// runs as an unprivileged user; each terminal is an SSH session to the
// node's own sshd with the attendee's login.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/labctl/labctl/webterm/agent"
)

func main() {
	listen := flag.String("listen", ":1080", "address to serve on")
	sshAddr := flag.String("ssh", "127.0.0.1:22", "the node's sshd")
	hostKeys := flag.String("host-keys", "/etc/ssh", "directory of the node's ssh_host_*_key.pub")
	assets := flag.String("assets", "/usr/local/lib/labctl-webterm", "directory holding xterm.js, xterm.css and addon-fit.js")
	cert := flag.String("tls-cert", "", "certificate (PEM) for HTTPS; empty: plain HTTP")
	key := flag.String("tls-key", "", "the certificate's key (PEM)")
	counts := flag.String("counts", "", "file rewritten with \"LOGINS TERMINALS\" on change (labctl status reads it)")
	flag.Parse()
	if err := run(*listen, *sshAddr, *hostKeys, *assets, *cert, *key, *counts); err != nil {
		fmt.Fprintln(os.Stderr, "labctl-webterm:", err)
		os.Exit(1)
	}
}

func run(listen, sshAddr, hostKeys, assets, cert, key, counts string) error {
	keys, err := agent.HostKeys(hostKeys)
	if err != nil {
		return err
	}
	for _, f := range []string{"xterm.js", "xterm.css", "addon-fit.js"} {
		if _, err := os.Stat(filepath.Join(assets, f)); err != nil {
			return fmt.Errorf("assets: %w", err)
		}
	}
	cfg := agent.Config{SSHAddr: sshAddr, HostKeys: keys, Assets: os.DirFS(assets)}
	if counts != "" {
		cfg.Counts = func(logins, terminals int) { writeCounts(counts, logins, terminals) }
		writeCounts(counts, 0, 0)
	}
	srv := agent.New(cfg)
	defer srv.Close()
	hs := &http.Server{Addr: listen, Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	log.Printf("serving on %s (tls: %v), terminals through %s", listen, cert != "", sshAddr)
	if cert != "" {
		err = hs.ListenAndServeTLS("", "")
	} else {
		err = hs.ListenAndServe()
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func writeCounts(path string, logins, terminals int) {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d %d\n", logins, terminals), 0o644); err == nil {
		os.Rename(tmp, path)
	}
}
