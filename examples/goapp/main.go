// Command goapp is the small web service that playbooks/go-webapp deploys
// with zero downtime. It answers `/` with its version and `/healthz` with
// its readiness, and on SIGTERM stops accepting connections but finishes
// the requests it has, so a restart behind a draining load balancer drops
// nothing.
//
// Build-time settings (go build -ldflags "-X main.version=v2 -X main.healthy=false"):
//
//	main.version  what `/` reports (default "dev")
//	main.healthy  "false" makes /healthz always answer 503: a bad release
//	              to rehearse a rollback with (default "true")
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

var (
	version = "dev"
	healthy = "true"
)

// shutdownTimeout bounds how long in-flight requests may take after
// SIGTERM; the systemd unit's TimeoutStopSec must be longer.
const shutdownTimeout = 20 * time.Second

func main() {
	log.SetFlags(0)
	log.SetPrefix("goapp: ")
	if err := run(); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run() error {
	good, err := strconv.ParseBool(healthy)
	if err != nil {
		return fmt.Errorf("main.healthy must be true or false, got %q", healthy)
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	svc := &service{version: version, hostname: host, healthy: good}

	ln, origin, err := listener()
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           svc.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	// Registered before serving, so a SIGTERM that arrives early is a
	// graceful stop too, not Go's default exit.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	svc.ready.Store(true)
	log.Printf("%s serving on %s (%s), healthy=%t", version, ln.Addr(), origin, good)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case sig := <-stop:
		log.Printf("%s: no new connections; finishing in-flight requests", sig)
	}
	svc.ready.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Print("stopped")
	return nil
}
