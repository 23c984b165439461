package postgres

import (
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

// TestRotationConformance runs the rotation suite, each subtest in a fresh
// schema.
func TestRotationConformance(t *testing.T) {
	storetest.RunRotation(t, func(t *testing.T) storetest.RotationStore { return openFresh(t) })
}

// TestRotationTwoServers runs two stores (two pools, as two servers) on one
// schema.
func TestRotationTwoServers(t *testing.T) {
	schema := freshSchema(t)
	storetest.RunRotationServers(t, openSchema(t, schema), openSchema(t, schema))
}
