//go:build !unix

package audit

import (
	"errors"
	"os"
)

// tryLock is unsupported here: without advisory locks a starting server
// could ingest a running server's journal, so there is no journal.
func tryLock(*os.File) (bool, error) {
	return false, errors.New("audit journal: advisory file locks are not supported on this system")
}

// JournalSupported reports whether this system can keep an audit journal
// (it needs advisory file locks).
const JournalSupported = false
