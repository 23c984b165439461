// Package iamsql implements store.IAM once, in SQL that SQLite and
// PostgreSQL both accept, over a small Backend interface each store package
// provides (transactions, placeholders, time encoding, error mapping).
//
// Every IAM write runs in one transaction whose first statement bumps the
// IAM generation row. On SQLite the single writer connection already
// serializes writes; on PostgreSQL the generation row's lock does, so the
// checks each method makes (quotas, dependents, referenced rows) read data
// no other IAM write can change before the transaction commits, whichever
// server it runs on.
//
// Names of users, groups, roles, managed and inline policies are stored
// twice: as given, for display, and lower-cased ("lname"), the key of
// lookups, uniqueness and ordering, because IAM names are unique
// case-insensitively.
package iamsql

import (
	"context"
	"errors"
	"time"
)

// Querier runs statements written with '?' placeholders. Arguments may be
// string, int, int64, time.Time (stored as the backend's time type) or
// OptTime (the zero time is stored as NULL). A *time.Time destination
// accepts NULL as the zero time.
type Querier interface {
	// Exec runs a statement and returns the number of rows it changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// QueryRow scans the first row into dest, or returns ErrNoRows.
	QueryRow(ctx context.Context, query string, args []any, dest ...any) error
	// Query calls row for every result row; scan reads the current row.
	Query(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error
}

// Backend is what a store package provides.
type Backend interface {
	// Write runs fn in a read-write transaction and commits if it returns
	// nil. The backend must make the first UPDATE of the iam_generation
	// row serialize the transaction with every other one that writes it.
	Write(ctx context.Context, fn func(Querier) error) error
	// Read runs fn in a read-only transaction with one consistent snapshot.
	Read(ctx context.Context, fn func(Querier) error) error
	// MapErr wraps err with what, translating unique violations to
	// store.ErrConflict and foreign key violations to store.ErrNotFound.
	MapErr(err error, what string) error
}

// Dynamic starts SQL text built at run time (multi-row INSERTs, IN lists,
// filter combinations). Backends that keep statements prepared do not keep
// such text, which would otherwise fill their caches with one-off
// statements. It is an SQL comment, so the text runs unchanged.
const Dynamic = "/* dynamic */ "

// ErrNoRows is what Querier.QueryRow returns when there is no row.
var ErrNoRows = errors.New("iamsql: no rows")

// OptTime is a time argument stored as NULL when zero ("never").
type OptTime time.Time
