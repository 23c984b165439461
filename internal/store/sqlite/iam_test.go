package sqlite

import (
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

func TestIAMConformanceMemory(t *testing.T) {
	storetest.RunIAM(t, func(t *testing.T) storetest.IAMStore { return openMemory(t) })
}

func TestIAMConformanceFile(t *testing.T) {
	storetest.RunIAM(t, func(t *testing.T) storetest.IAMStore { return openFile(t) })
}
