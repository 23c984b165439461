package iam

import (
	"context"
	"strconv"
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

// benchHarness is a harness on an in-memory SQLite store.
func benchHarness(b *testing.B) *harness {
	b.Helper()
	st, err := sqlite.Open(context.Background(), ":memory:", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	// Benchmarks measure the service, not the model check's file writes.
	responses.mu.Lock()
	responses.dir = ""
	responses.mu.Unlock()
	t := &testing.T{}
	return newHarness(t, st)
}

// BenchmarkGetRole is one IAM read as the server runs it after
// authorisation: decode, resource lookup, handler, XML encoding.
func BenchmarkGetRole(b *testing.B) {
	h := benchHarness(b)
	if r := h.call("CreateRole", "RoleName", "app", "AssumeRolePolicyDocument", trustDoc); r.err != nil {
		b.Fatal(r.err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if r := h.call("GetRole", "RoleName", "app"); r.err != nil {
			b.Fatal(r.err)
		}
	}
}

// BenchmarkCreateUser is one IAM write (a transaction on SQLite).
func BenchmarkCreateUser(b *testing.B) {
	h := benchHarness(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if r := h.call("CreateUser", "UserName", "u"+strconv.Itoa(i)); r.err != nil {
			b.Fatal(r.err)
		}
	}
}
