package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
)

// listenFdsStart is the first file descriptor systemd passes
// (sd_listen_fds(3)).
const listenFdsStart = 3

// listener is the socket systemd passed when the service is socket
// activated (LISTEN_FDS, for this process by LISTEN_PID), else a new one on
// PORT (default 8080). With systemd holding the socket, connections that
// arrive during a restart wait in its queue instead of being refused.
// It also says where the socket came from, for the log.
func listener() (net.Listener, string, error) {
	if fds := os.Getenv("LISTEN_FDS"); fds != "" {
		if pid := os.Getenv("LISTEN_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
			return nil, "", fmt.Errorf("LISTEN_PID=%s is not this process (%d)", pid, os.Getpid())
		}
		if n, err := strconv.Atoi(fds); err != nil || n < 1 {
			return nil, "", fmt.Errorf("LISTEN_FDS must be a positive number, got %q", fds)
		}
		// Not for any child process.
		for _, v := range []string{"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"} {
			os.Unsetenv(v)
		}
		f := os.NewFile(listenFdsStart, "systemd-socket")
		defer f.Close()
		ln, err := net.FileListener(f)
		if err != nil {
			return nil, "", fmt.Errorf("the socket systemd passed (fd %d): %w", listenFdsStart, err)
		}
		return ln, "systemd socket", nil
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, "", fmt.Errorf("PORT must be a port number, 1 to 65535, got %q", port)
	}
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return nil, "", err
	}
	return ln, "PORT", nil
}
