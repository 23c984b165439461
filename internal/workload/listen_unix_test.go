//go:build unix

package workload

import (
	"net"
	"syscall"
	"testing"
)

// TestHopLimitInherited: connections accepted on the loopback listener
// answer with a TTL of 1.
func TestHopLimitInherited(t *testing.T) {
	ln, err := ListenLoopback(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err == nil {
			defer c.Close()
			_, _ = c.Read(make([]byte, 1))
		}
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ttl int
	var gerr error
	_ = raw.Control(func(fd uintptr) { ttl, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_TTL) })
	if gerr != nil || ttl != 1 {
		t.Fatalf("accepted connection TTL %d (%v), want 1", ttl, gerr)
	}
}
