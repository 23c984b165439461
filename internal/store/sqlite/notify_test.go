package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

func TestNotifyConformanceMemory(t *testing.T) {
	storetest.RunNotify(t, func(t *testing.T) storetest.NotifyStore { return openMemory(t) })
}

func TestNotifyConformanceFile(t *testing.T) {
	storetest.RunNotify(t, func(t *testing.T) storetest.NotifyStore { return openFile(t) })
}

// TestNotifyTwoProcesses: two stores over one file never claim one
// delivery twice.
func TestNotifyTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulwark.db")
	open := func() *Store {
		s, err := Open(context.Background(), path, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	storetest.RunNotifyServers(t, open(), open())
}
