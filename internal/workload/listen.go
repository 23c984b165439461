package workload

import (
	"context"
	"fmt"
	"net"
	"syscall"
)

// ListenLoopback listens on a loopback address only, and sends every
// response with an IP hop limit (TTL) of 1, as IMDSv2 uses a hop limit so
// that its answers cannot travel beyond the host: even a misrouted packet
// dies at the first router.
func ListenLoopback(ctx context.Context, addr string) (net.Listener, error) {
	if !IsLoopbackAddr(addr) {
		return nil, fmt.Errorf("%s is not a loopback address: credentials are served on loopback only", addr)
	}
	lc := net.ListenConfig{Control: func(network, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = setHopLimit(network, fd, 1) })
		if err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}
