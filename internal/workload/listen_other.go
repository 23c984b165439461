//go:build !unix

package workload

// setHopLimit is a no-op where the socket option is not portable; the
// listener is still loopback only.
func setHopLimit(string, uintptr, int) error { return nil }
