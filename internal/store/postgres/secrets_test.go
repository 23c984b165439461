package postgres

import (
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

// TestSecretsConformance runs the Secrets Manager suite, each subtest in a
// fresh schema.
func TestSecretsConformance(t *testing.T) {
	storetest.RunSecrets(t, func(t *testing.T) storetest.SecretsStore { return openFresh(t) })
}
