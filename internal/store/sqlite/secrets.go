package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/iamsql"
	"github.com/bulwark-security/bulwark/internal/store/secretsql"
)

// The Secrets Manager part of the store is package secretsql's, over the
// IAM part's backend with one difference: statements are prepared once per
// connection and reused (GetSecretValue is a hot path, and preparing a
// statement costs SQLite more than running it).

var _ store.Secrets = (*Store)(nil)

func (s *Store) secrets() secretsql.Secrets { return secretsql.New(stmtBackend{backend{s}}) }

type stmtBackend struct{ backend }

func (b stmtBackend) Write(ctx context.Context, fn func(iamsql.Querier) error) error {
	return b.run(ctx, b.s.w, fn)
}

func (b stmtBackend) Read(ctx context.Context, fn func(iamsql.Querier) error) error {
	return b.run(ctx, b.s.r, fn)
}

func (stmtBackend) run(ctx context.Context, db *sql.DB, fn func(iamsql.Querier) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	q := &stmtQuerier{tx: tx, db: db}
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

// stmts holds the statements prepared on each database handle; database/sql
// prepares each once per connection and reuses it in later transactions.
var stmts sync.Map // stmtKey -> *sql.Stmt

type stmtKey struct {
	db    *sql.DB
	query string
}

type stmtQuerier struct {
	tx *sql.Tx
	db *sql.DB
	// missing are the statements this transaction prepared for itself;
	// they are prepared on the database once it has ended (preparing on
	// the database needs a free connection, and the writer has one).
	missing []string
}

func (q *stmtQuerier) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if v, ok := stmts.Load(stmtKey{q.db, query}); ok {
		return q.tx.StmtContext(ctx, v.(*sql.Stmt)), nil
	}
	q.missing = append(q.missing, query)
	return q.tx.PrepareContext(ctx, query)
}

func (q *stmtQuerier) prepareMissing(ctx context.Context) {
	for _, query := range q.missing {
		k := stmtKey{q.db, query}
		if _, ok := stmts.Load(k); ok {
			continue
		}
		st, err := q.db.PrepareContext(ctx, query)
		if err != nil {
			return // the next transaction tries again
		}
		if _, loaded := stmts.LoadOrStore(k, st); loaded {
			st.Close()
		}
	}
}

func (q *stmtQuerier) Exec(ctx context.Context, query string, a ...any) (int64, error) {
	st, err := q.stmt(ctx, query)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(ctx, args(a)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q *stmtQuerier) QueryRow(ctx context.Context, query string, a []any, dest ...any) error {
	st, err := q.stmt(ctx, query)
	if err != nil {
		return err
	}
	err = st.QueryRowContext(ctx, args(a)...).Scan(dests(dest)...)
	if errors.Is(err, sql.ErrNoRows) {
		return iamsql.ErrNoRows
	}
	return err
}

func (q *stmtQuerier) Query(ctx context.Context, query string, a []any, row func(scan func(dest ...any) error) error) error {
	st, err := q.stmt(ctx, query)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, args(a)...)
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

// CreateSecret implements store.Secrets.
func (s *Store) CreateSecret(ctx context.Context, sec store.Secret, first *store.SecretVersion) error {
	return s.secrets().CreateSecret(ctx, sec, first)
}

// GetSecret implements store.Secrets.
func (s *Store) GetSecret(ctx context.Context, arn string) (store.Secret, error) {
	return s.secrets().GetSecret(ctx, arn)
}

// GetSecretByName implements store.Secrets.
func (s *Store) GetSecretByName(ctx context.Context, account, region, name string) (store.Secret, error) {
	return s.secrets().GetSecretByName(ctx, account, region, name)
}

// ListSecrets implements store.Secrets.
func (s *Store) ListSecrets(ctx context.Context, account, region string) ([]store.Secret, error) {
	return s.secrets().ListSecrets(ctx, account, region)
}

// UpdateSecret implements store.Secrets.
func (s *Store) UpdateSecret(ctx context.Context, sec store.Secret) (store.Secret, error) {
	return s.secrets().UpdateSecret(ctx, sec)
}

// TouchSecret implements store.Secrets.
func (s *Store) TouchSecret(ctx context.Context, arn, versionID string, day time.Time) error {
	return s.secrets().TouchSecret(ctx, arn, versionID, day)
}

// DeleteSecret implements store.Secrets.
func (s *Store) DeleteSecret(ctx context.Context, arn string) error {
	return s.secrets().DeleteSecret(ctx, arn)
}

// PurgeSecrets implements store.Secrets.
func (s *Store) PurgeSecrets(ctx context.Context, now time.Time, limit int) ([]string, error) {
	return s.secrets().PurgeSecrets(ctx, now, limit)
}

// PutSecretVersion implements store.Secrets.
func (s *Store) PutSecretVersion(ctx context.Context, v store.SecretVersion, at time.Time, keepDeprecated, maxVersions int) error {
	return s.secrets().PutSecretVersion(ctx, v, at, keepDeprecated, maxVersions)
}

// GetSecretVersion implements store.Secrets.
func (s *Store) GetSecretVersion(ctx context.Context, arn, versionID string) (store.SecretVersion, error) {
	return s.secrets().GetSecretVersion(ctx, arn, versionID)
}

// GetSecretVersionByStage implements store.Secrets.
func (s *Store) GetSecretVersionByStage(ctx context.Context, arn, stage string) (store.SecretVersion, error) {
	return s.secrets().GetSecretVersionByStage(ctx, arn, stage)
}

// ListSecretVersions implements store.Secrets.
func (s *Store) ListSecretVersions(ctx context.Context, arn string) ([]store.SecretVersion, error) {
	return s.secrets().ListSecretVersions(ctx, arn)
}

// ReencryptSecretVersion implements store.Secrets.
func (s *Store) ReencryptSecretVersion(ctx context.Context, v store.SecretVersion) error {
	return s.secrets().ReencryptSecretVersion(ctx, v)
}

// MoveSecretStage implements store.Secrets.
func (s *Store) MoveSecretStage(ctx context.Context, arn, stage, from, to string, at time.Time) error {
	return s.secrets().MoveSecretStage(ctx, arn, stage, from, to, at)
}
