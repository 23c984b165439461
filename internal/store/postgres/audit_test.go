package postgres

import (
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

// TestAuditConformance runs the audit suite, each subtest in a fresh schema.
func TestAuditConformance(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T) storetest.AuditStore { return openFresh(t) })
}
