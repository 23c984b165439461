package postgres

import (
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

// TestKMSConformance runs the KMS suite, each subtest in a fresh schema.
func TestKMSConformance(t *testing.T) {
	storetest.RunKMS(t, func(t *testing.T) storetest.KMSStore { return openFresh(t) })
}
