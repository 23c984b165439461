package sqlite

import (
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

func TestAuditConformanceMemory(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T) storetest.AuditStore { return openMemory(t) })
}

func TestAuditConformanceFile(t *testing.T) {
	storetest.RunAudit(t, func(t *testing.T) storetest.AuditStore { return openFile(t) })
}
