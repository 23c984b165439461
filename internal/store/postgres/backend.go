package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bulwark-security/bulwark/internal/store/iamsql"
)

// The store parts (package sqlstore) run over the backend below.
// Writes are READ COMMITTED transactions whose first statement updates the
// one iam_generation row: its row lock, held to commit, serializes IAM
// writes across every server sharing the database, and each later
// statement sees everything committed before the lock was granted. Reads
// are REPEATABLE READ, READ ONLY transactions: one snapshot.

type backend struct{ s *Store }

func (b backend) Write(ctx context.Context, fn func(iamsql.Querier) error) error {
	return pgx.BeginFunc(ctx, b.s.pool, func(tx pgx.Tx) error { return fn(querier{tx}) })
}

func (b backend) Read(ctx context.Context, fn func(iamsql.Querier) error) error {
	return pgx.BeginTxFunc(ctx, b.s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(querier{tx}) })
}

func (backend) MapErr(err error, what string) error { return mapErr(err, what) }

// querier runs iamsql's statements in one transaction.
type querier struct{ tx pgx.Tx }

// rebound caches iamsql's '?' statements rewritten to $1, $2, ... (its
// statements have no '?' inside literals).
var rebound sync.Map

func rebind(query string) string {
	if v, ok := rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	rebound.Store(query, b.String())
	return b.String()
}

// errUnstorable refuses text PostgreSQL cannot hold (NUL, invalid UTF-8).
var errUnstorable = errors.New("text with a NUL byte or invalid UTF-8")

// args converts iamsql's arguments and reports whether all text is
// storable: a key PostgreSQL cannot hold cannot exist, so lookups with one
// find nothing instead of failing.
func args(in []any) ([]any, bool) {
	out := make([]any, len(in))
	for i, a := range in {
		switch v := a.(type) {
		case string:
			if !storable(v) {
				return nil, false
			}
			out[i] = v
		case time.Time:
			out[i] = pgTime(v)
		case iamsql.OptTime:
			out[i] = nullTime(time.Time(v))
		default:
			out[i] = a
		}
	}
	return out, true
}

// scanDests swaps *time.Time destinations for nullable ones, and returns
// the function that copies them back (NULL as the zero time, else UTC).
func scanDests(in []any) ([]any, func()) {
	out := make([]any, len(in))
	var fix []func()
	for i, d := range in {
		t, ok := d.(*time.Time)
		if !ok {
			out[i] = d
			continue
		}
		var p *time.Time
		out[i] = &p
		fix = append(fix, func() {
			if p == nil {
				*t = time.Time{}
			} else {
				*t = p.UTC()
			}
		})
	}
	return out, func() {
		for _, f := range fix {
			f()
		}
	}
}

func (q querier) Exec(ctx context.Context, query string, a ...any) (int64, error) {
	conv, ok := args(a)
	if !ok {
		return 0, errUnstorable
	}
	tag, err := q.tx.Exec(ctx, rebind(query), conv...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (q querier) QueryRow(ctx context.Context, query string, a []any, dest ...any) error {
	conv, ok := args(a)
	if !ok {
		return iamsql.ErrNoRows
	}
	d, fix := scanDests(dest)
	err := q.tx.QueryRow(ctx, rebind(query), conv...).Scan(d...)
	if errors.Is(err, pgx.ErrNoRows) {
		return iamsql.ErrNoRows
	}
	if err != nil {
		return err
	}
	fix()
	return nil
}

func (q querier) Query(ctx context.Context, query string, a []any, row func(scan func(dest ...any) error) error) error {
	conv, ok := args(a)
	if !ok {
		return nil
	}
	rows, err := q.tx.Query(ctx, rebind(query), conv...)
	if err != nil {
		return err
	}
	defer rows.Close()
	scan := func(dest ...any) error {
		d, fix := scanDests(dest)
		if err := rows.Scan(d...); err != nil {
			return err
		}
		fix()
		return nil
	}
	for rows.Next() {
		if err := row(scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
