package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/bulwark-security/bulwark/internal/store/iamsql"
)

// The store parts (package sqlstore) run over the backend below:
// writes are transactions on the single writer connection (BEGIN
// IMMEDIATE, so they serialize with every other writer, in this process or
// another), reads are deferred transactions on the reader pool.

type backend struct{ s *Store }

func (b backend) Write(ctx context.Context, fn func(iamsql.Querier) error) error {
	return b.run(ctx, b.s.w, fn)
}

func (b backend) Read(ctx context.Context, fn func(iamsql.Querier) error) error {
	return b.run(ctx, b.s.r, fn)
}

func (b backend) run(ctx context.Context, db *sql.DB, fn func(iamsql.Querier) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	q := &stmtQuerier{tx: tx, db: db, cache: &b.s.stmts}
	defer q.prepareMissing(ctx)
	defer tx.Rollback()
	if err := fn(q); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (backend) MapErr(err error, what string) error { return mapErr(err, what) }

// args converts a part's arguments: times are stored as unix microseconds.
func args(in []any) []any {
	out := make([]any, len(in))
	for i, a := range in {
		switch v := a.(type) {
		case time.Time:
			out[i] = toMicros(v)
		case iamsql.OptTime:
			out[i] = nullMicros(time.Time(v))
		default:
			out[i] = a
		}
	}
	return out
}

// microsScanner reads INTEGER microseconds (NULL as the zero time).
type microsScanner struct{ t *time.Time }

func (m microsScanner) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*m.t = time.Time{}
	case int64:
		*m.t = fromMicros(v)
	default:
		return fmt.Errorf("time column holds %T", v)
	}
	return nil
}

func dests(in []any) []any {
	out := make([]any, len(in))
	for i, d := range in {
		if t, ok := d.(*time.Time); ok {
			out[i] = microsScanner{t}
		} else {
			out[i] = d
		}
	}
	return out
}
