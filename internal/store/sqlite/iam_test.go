package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

func TestIAMConformanceMemory(t *testing.T) {
	storetest.RunIAM(t, func(t *testing.T) storetest.IAMStore { return openMemory(t) })
}

func TestIAMConformanceFile(t *testing.T) {
	storetest.RunIAM(t, func(t *testing.T) storetest.IAMStore { return openFile(t) })
}

// TestIAMTwoProcesses opens one file twice, as two processes would: each
// has its own writer connection, so only SQLite's file lock serializes them.
func TestIAMTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulwark.db")
	open := func() *Store {
		s, err := Open(context.Background(), path, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	storetest.RunIAMServers(t, open(), open())
}
