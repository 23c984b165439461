package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

func TestWorkloadConformanceMemory(t *testing.T) {
	storetest.RunWorkloads(t, func(t *testing.T) storetest.WorkloadStore { return openMemory(t) })
}

func TestWorkloadConformanceFile(t *testing.T) {
	storetest.RunWorkloads(t, func(t *testing.T) storetest.WorkloadStore { return openFile(t) })
}

// TestWorkloadTwoProcesses races join token redemptions on one file opened
// twice, as two processes would.
func TestWorkloadTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulwark.db")
	open := func() *Store {
		s, err := Open(context.Background(), path, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	storetest.RunWorkloadServers(t, open(), open())
}
