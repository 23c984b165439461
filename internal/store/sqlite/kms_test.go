package sqlite

import (
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

func TestKMSConformanceMemory(t *testing.T) {
	storetest.RunKMS(t, func(t *testing.T) storetest.KMSStore { return openMemory(t) })
}

func TestKMSConformanceFile(t *testing.T) {
	storetest.RunKMS(t, func(t *testing.T) storetest.KMSStore { return openFile(t) })
}
