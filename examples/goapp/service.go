package main

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// maxSleep bounds `/?sleep=ms`, the slow request that shows a graceful
// shutdown finishing what it started.
const maxSleep = 10 * time.Second

// service holds what the handlers answer with.
type service struct {
	version  string
	hostname string
	// healthy is the build-time switch: false fails every health check.
	healthy bool
	// ready is true while serving, false once shutdown has begun.
	ready atomic.Bool
}

func (s *service) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", s.root)
	mux.HandleFunc("/healthz", s.healthz)
	return mux
}

// root answers "goapp VERSION on HOST"; `?sleep=ms` delays the answer.
func (s *service) root(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	if ms := r.URL.Query().Get("sleep"); ms != "" {
		n, err := strconv.Atoi(ms)
		delay := time.Duration(n) * time.Millisecond
		if err != nil || n < 0 || delay > maxSleep {
			http.Error(w, fmt.Sprintf("sleep must be a number of milliseconds, 0 to %d", maxSleep.Milliseconds()), http.StatusBadRequest)
			return
		}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return // the client went away
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, "goapp %s on %s\n", s.version, s.hostname)
}

// healthz is 200 "ok" while the service takes requests, 503 while it shuts
// down or when it was built unhealthy.
func (s *service) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !s.healthy || !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "unavailable")
		return
	}
	fmt.Fprintln(w, "ok")
}
