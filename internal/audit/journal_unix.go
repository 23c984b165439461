//go:build unix

package audit

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// tryLock takes an exclusive advisory lock on f without waiting; ok is
// false if another process holds it. The lock ends when f is closed or the
// process exits, so a crashed server's journal is free to recover.
func tryLock(f *os.File) (ok bool, err error) {
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, syscall.EWOULDBLOCK):
		return false, nil
	default:
		return false, fmt.Errorf("flock %s: %w", f.Name(), err)
	}
}

// JournalSupported reports whether this system can keep an audit journal
// (it needs advisory file locks).
const JournalSupported = true
