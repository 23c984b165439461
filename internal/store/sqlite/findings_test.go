package sqlite

import (
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

func TestFindingsConformance(t *testing.T) {
	storetest.RunFindings(t, func(t *testing.T) storetest.FindingsStore { return openMemory(t) })
}

func TestFindingsConformanceFile(t *testing.T) {
	storetest.RunFindings(t, func(t *testing.T) storetest.FindingsStore { return openFile(t) })
}
