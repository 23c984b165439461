package postgres

import (
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

// TestWorkloadConformance runs the workload suite, each subtest in a fresh
// schema.
func TestWorkloadConformance(t *testing.T) {
	storetest.RunWorkloads(t, func(t *testing.T) storetest.WorkloadStore { return openFresh(t) })
}

// TestWorkloadTwoServers races join token redemptions on one schema opened
// twice, as two servers sharing the database.
func TestWorkloadTwoServers(t *testing.T) {
	schema := freshSchema(t)
	storetest.RunWorkloadServers(t, openSchema(t, schema), openSchema(t, schema))
}
