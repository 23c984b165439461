package postgres

import (
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

// TestDetectCountsConformance runs the detector counts suite in a fresh
// schema.
func TestDetectCountsConformance(t *testing.T) {
	baseDSN(t)
	storetest.RunDetectCounts(t, func(t *testing.T) storetest.DetectStore { return openFresh(t) })
}
