// Package migrate holds the backend-independent part of Bulwark's versioned
// schema migrations: the Migration type, validation of a backend's list, and
// the rule that a binary refuses to run against a database migrated by a newer
// binary.
//
// Each backend (sqlite, postgres) writes its own SQL by hand, because the
// dialects differ, and applies each pending version in its own transaction,
// recording it in a schema_migrations(version, name, applied_at) table. A new
// table or column is added by appending a Migration with the next version to
// both backends' lists; a released version is never edited.
package migrate

import (
	"errors"
	"fmt"
)

// Migration is one schema change. Versions start at 1 and increase by one.
type Migration struct {
	Version int
	Name    string // short description, recorded in schema_migrations
	SQL     string // one or more statements, run in one transaction
	// Seed, if set, inserts rows a table must always hold (a counter, a
	// singleton). It runs right after SQL, and again after every
	// store.Reset, which empties all tables, in the same transaction.
	Seed string
}

// ErrSchemaTooNew means the database was migrated by a newer Bulwark binary
// than this one; running would risk misreading or corrupting its data.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary supports")

// Validate checks that ms is non-empty, numbered 1..n in order, and that every
// migration has a name and SQL. Backends call it at Open so a bad edit fails
// loudly and early.
func Validate(ms []Migration) error {
	if len(ms) == 0 {
		return errors.New("migrate: no migrations")
	}
	for i, m := range ms {
		if m.Version != i+1 {
			return fmt.Errorf("migrate: migration %d has version %d, want %d", i, m.Version, i+1)
		}
		if m.Name == "" || m.SQL == "" {
			return fmt.Errorf("migrate: migration %d has an empty name or SQL", m.Version)
		}
	}
	return nil
}

// Latest returns the highest version in ms (0 if empty).
func Latest(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

// CheckVersion returns an error wrapping ErrSchemaTooNew if the database's
// current version is beyond the newest migration this binary knows.
func CheckVersion(current int, ms []Migration) error {
	if latest := Latest(ms); current > latest {
		return fmt.Errorf("%w: database is at version %d, this binary knows up to %d; upgrade Bulwark", ErrSchemaTooNew, current, latest)
	}
	return nil
}

// Pending returns the migrations after version current, in order.
func Pending(current int, ms []Migration) []Migration {
	if current < 0 {
		current = 0
	}
	if current >= len(ms) {
		return nil
	}
	return ms[current:]
}

// Insert adds m to ms keeping them ordered by version. Features register
// their migrations from init functions in files of their own, whose order
// the compiler does not promise; Validate still requires the versions to be
// exactly 1..n.
func Insert(ms []Migration, m Migration) []Migration {
	i := 0
	for i < len(ms) && ms[i].Version < m.Version {
		i++
	}
	return append(ms[:i:i], append([]Migration{m}, ms[i:]...)...)
}
