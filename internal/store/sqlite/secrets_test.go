package sqlite

import (
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

func TestSecretsConformanceMemory(t *testing.T) {
	storetest.RunSecrets(t, func(t *testing.T) storetest.SecretsStore { return openMemory(t) })
}

func TestSecretsConformanceFile(t *testing.T) {
	storetest.RunSecrets(t, func(t *testing.T) storetest.SecretsStore { return openFile(t) })
}
