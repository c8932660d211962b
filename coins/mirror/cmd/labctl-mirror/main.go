// Command labctl-mirror is the node-local, read-only docker.io mirror that
// labctl installs on every node (see package mirror): it serves the images
// of one OCI image layout to containerd and Docker.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/labctl/labctl/coins/mirror"
)

func main() {
	addr := flag.String("addr", mirror.Addr, "listen address")
	dir := flag.String("layout", mirror.DefaultLayout, "OCI image layout directory to serve")
	quiet := flag.Bool("quiet", false, "no line per request")
	flag.Parse()
	logger := log.New(os.Stderr, "", 0) // journald stamps the lines
	s := &mirror.Server{Dir: *dir}
	if !*quiet {
		s.Log = logger
	}
	if names, err := s.Names(); err != nil {
		logger.Printf("layout %s: %v (every request gets 404 until it is there)", *dir, err)
	} else {
		slices.Sort(names)
		logger.Printf("serving %s from %s", strings.Join(names, " "), *dir)
	}
	srv := &http.Server{Addr: *addr, Handler: s, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	logger.Printf("listening on %s", *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "labctl-mirror:", err)
		os.Exit(1)
	}
}
