package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

func TestRotationConformanceMemory(t *testing.T) {
	storetest.RunRotation(t, func(t *testing.T) storetest.RotationStore { return openMemory(t) })
}

func TestRotationConformanceFile(t *testing.T) {
	storetest.RunRotation(t, func(t *testing.T) storetest.RotationStore { return openFile(t) })
}

// TestRotationTwoProcesses opens one file twice, as two servers would.
func TestRotationTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulwark.db")
	open := func() *Store {
		s, err := Open(context.Background(), path, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	storetest.RunRotationServers(t, open(), open())
}
