package postgres

import (
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

// TestIAMConformance runs the IAM suite, each subtest in a fresh schema;
// it skips only when PostgreSQL is not running and CI is unset.
func TestIAMConformance(t *testing.T) {
	storetest.RunIAM(t, func(t *testing.T) storetest.IAMStore { return openFresh(t) })
}
