package sqlite

import (
	"testing"

	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

func TestDetectCountsConformance(t *testing.T) {
	storetest.RunDetectCounts(t, func(t *testing.T) storetest.DetectStore { return openFile(t) })
}
