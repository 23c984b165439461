package postgres

import (
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

// TestFindingsConformance runs the findings suite, each subtest in a fresh
// schema.
func TestFindingsConformance(t *testing.T) {
	baseDSN(t)
	storetest.RunFindings(t, func(t *testing.T) storetest.FindingsStore { return openFresh(t) })
}
