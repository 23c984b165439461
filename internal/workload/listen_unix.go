//go:build unix

package workload

import (
	"fmt"
	"syscall"
)

// setHopLimit sets the unicast TTL (IPv4) or hop limit (IPv6) of a socket;
// accepted connections inherit it from the listening socket.
func setHopLimit(network string, fd uintptr, hops int) error {
	var err error
	if network == "tcp6" {
		err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_UNICAST_HOPS, hops)
	} else {
		err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_TTL, hops)
	}
	if err != nil {
		return fmt.Errorf("set hop limit: %w", err)
	}
	return nil
}
