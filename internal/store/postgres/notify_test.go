package postgres

import (
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

// TestNotifyConformance runs the SNS and response suite, each subtest in
// a fresh schema.
func TestNotifyConformance(t *testing.T) {
	storetest.RunNotify(t, func(t *testing.T) storetest.NotifyStore { return openFresh(t) })
}

// TestNotifyTwoServers: two servers sharing one schema never claim one
// delivery twice.
func TestNotifyTwoServers(t *testing.T) {
	schema := freshSchema(t)
	storetest.RunNotifyServers(t, openSchema(t, schema), openSchema(t, schema))
}
