package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/bulwark-security/bulwark/internal/store/iamsql"
)

// Every store part (IAM, KMS, Secrets Manager, audit, ...) runs its SQL
// through stmtQuerier: statements are prepared once per database handle
// and reused, since preparing a statement costs SQLite more than running
// the point lookups that make up the hot paths (a signed GetSecretValue
// reads IAM, KMS and Secrets Manager rows).

// maxCachedStmts bounds the cache. SQL built at run time is marked
// iamsql.Dynamic and never cached; the bound is a backstop so that text
// someone forgot to mark cannot grow it without limit. Statements beyond
// the bound run unprepared.
const maxCachedStmts = 512

type stmtKey struct {
	db    *sql.DB
	query string
}

// stmtCache holds the statements prepared on a store's handles.
type stmtCache struct {
	m sync.Map // stmtKey -> *sql.Stmt
	n atomic.Int64
}

func (c *stmtCache) get(db *sql.DB, query string) *sql.Stmt {
	if v, ok := c.m.Load(stmtKey{db, query}); ok {
		return v.(*sql.Stmt)
	}
	return nil
}

// prepare prepares query on db unless it is cached or the cache is full.
// A failure is ignored: the next transaction runs the query unprepared
// and tries again.
func (c *stmtCache) prepare(ctx context.Context, db *sql.DB, query string) {
	if strings.HasPrefix(query, iamsql.Dynamic) {
		return
	}
	k := stmtKey{db, query}
	if _, ok := c.m.Load(k); ok || c.n.Load() >= maxCachedStmts {
		return
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return
	}
	if _, loaded := c.m.LoadOrStore(k, st); loaded {
		st.Close()
		return
	}
	c.n.Add(1)
}

func (c *stmtCache) close() error {
	var errs []error
	c.m.Range(func(k, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		c.m.Delete(k)
		return true
	})
	return errors.Join(errs...)
}

// stmtQuerier runs a part's statements in one transaction, storing times as
// unix microseconds.
type stmtQuerier struct {
	tx    *sql.Tx
	db    *sql.DB
	cache *stmtCache
	// missing are the queries this transaction ran unprepared; they are
	// prepared on the database once the transaction has ended (preparing
	// on the database needs a free connection, and the single writer's is
	// held by the transaction).
	missing []string
}

func (q *stmtQuerier) prepareMissing(ctx context.Context) {
	for _, query := range q.missing {
		q.cache.prepare(ctx, q.db, query)
	}
}

func (q *stmtQuerier) exec(ctx context.Context, query string, a []any) (sql.Result, error) {
	if st := q.cache.get(q.db, query); st != nil {
		return q.tx.StmtContext(ctx, st).ExecContext(ctx, args(a)...)
	}
	q.missing = append(q.missing, query)
	return q.tx.ExecContext(ctx, query, args(a)...)
}

func (q *stmtQuerier) query(ctx context.Context, query string, a []any) (*sql.Rows, error) {
	if st := q.cache.get(q.db, query); st != nil {
		return q.tx.StmtContext(ctx, st).QueryContext(ctx, args(a)...)
	}
	q.missing = append(q.missing, query)
	return q.tx.QueryContext(ctx, query, args(a)...)
}

func (q *stmtQuerier) Exec(ctx context.Context, query string, a ...any) (int64, error) {
	res, err := q.exec(ctx, query, a)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q *stmtQuerier) QueryRow(ctx context.Context, query string, a []any, dest ...any) error {
	rows, err := q.query(ctx, query, a)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return iamsql.ErrNoRows
	}
	if err := rows.Scan(dests(dest)...); err != nil {
		return err
	}
	return rows.Close()
}

func (q *stmtQuerier) Query(ctx context.Context, query string, a []any, row func(scan func(dest ...any) error) error) error {
	rows, err := q.query(ctx, query, a)
	if err != nil {
		return err
	}
	defer rows.Close()
	scan := func(dest ...any) error { return rows.Scan(dests(dest)...) }
	for rows.Next() {
		if err := row(scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
