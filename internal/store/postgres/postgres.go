// Package postgres implements store.Store on PostgreSQL (pgx/v5, pgxpool), so
// several Bulwark servers can share one database.
//
// # DSN
//
// Open takes any DSN pgx accepts, URL ("postgres://user@host:5432/db?sslmode=disable")
// or keyword/value ("host=... dbname=..."), plus pgxpool's pool_* settings
// (for example pool_max_conns=16). The schema Bulwark uses is chosen by either
//
//   - schema=NAME, a Bulwark parameter (removed before connecting), or
//   - search_path=NAME[,...], whose first entry is used,
//
// and is created if absent; every connection's search_path is then pinned to
// that one schema. NAME must match [a-z_][a-z0-9_]{0,62}. Without
// either, the server's default search_path applies (normally "public").
// Tests use this to isolate themselves: each opens a fresh
// bulwark_test_<random> schema and drops it afterwards.
//
// # Many servers
//
// Open runs migrations while holding a PostgreSQL advisory lock derived from
// the schema name, so servers starting together apply each version exactly
// once and the others wait, then find nothing to do. A schema migrated by a
// newer binary is refused (migrate.ErrSchemaTooNew). PutMetaIfAbsent uses
// INSERT ... ON CONFLICT DO NOTHING, so exactly one racing server wins.
//
// Times are truncated to microseconds (PostgreSQL's precision) before they
// are stored and come back in UTC.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bulwark-security/bulwark/internal/store/sqlstore"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/migrate"
)

// Store is a store.Store backed by PostgreSQL. Create it with Open.
type Store struct {
	pool   *pgxpool.Pool
	schema string // "" when the server default applies
	logger *slog.Logger

	// The parts shared with SQLite, over this store's backend.
	sqlstore.Parts
}

var _ store.Store = (*Store)(nil)

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects, creates the schema if needed, applies pending migrations
// and returns the store. A nil logger discards logs.
func Open(ctx context.Context, dsn string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := migrate.Validate(migrations); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password included; say less.
		return nil, errors.New("postgres: cannot parse the DSN")
	}
	schema, err := takeSchema(cfg.ConnConfig.RuntimeParams)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: create pool: %w", err)
	}
	s := &Store{pool: pool, schema: schema, logger: logger}
	s.Parts = sqlstore.New(backend{s})
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// takeSchema removes the schema parameter from params, reconciles it with
// search_path and, when a schema is named, pins search_path to it (quoted).
func takeSchema(params map[string]string) (string, error) {
	schema, hasSchema := params["schema"]
	delete(params, "schema")
	var fromPath string
	if sp := params["search_path"]; sp != "" {
		first, _, _ := strings.Cut(sp, ",")
		fromPath = strings.Trim(strings.TrimSpace(first), `"`)
	}
	switch {
	case hasSchema && fromPath != "" && fromPath != schema:
		return "", fmt.Errorf("postgres dsn: schema=%q and search_path=%q disagree", schema, params["search_path"])
	case !hasSchema:
		schema = fromPath
	}
	if schema == "" {
		if hasSchema {
			return "", errors.New("postgres dsn: empty schema")
		}
		return "", nil
	}
	if !schemaName.MatchString(schema) {
		return "", fmt.Errorf("postgres dsn: schema %q must match %s", schema, schemaName)
	}
	params["search_path"] = pgx.Identifier{schema}.Sanitize()
	return schema, nil
}

// lockKey derives the advisory lock id for migrating one schema, so tests in
// different schemas do not wait for each other.
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("bulwark/migrate/" + schema))
	return int64(h.Sum64())
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer     NOT NULL PRIMARY KEY,
	name       text        NOT NULL,
	applied_at timestamptz NOT NULL
)`

func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Release()
	schema := s.schema
	if schema == "" {
		if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return fmt.Errorf("postgres: no usable schema in search_path: %w", err)
		}
	}
	// A session lock: held across the per-version transactions, and released
	// by the server if this process dies.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKey(schema)); err != nil {
		return fmt.Errorf("postgres: take migration lock: %w", err)
	}
	defer func() {
		// Use a fresh context: ctx may be what failed.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, lockKey(schema)); err != nil {
			// The lock lives on in the session; drop the connection to free it.
			conn.Conn().Close(uctx)
		}
	}()
	if s.schema != "" {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{s.schema}.Sanitize()); err != nil {
			return fmt.Errorf("postgres: create schema %q: %w", s.schema, err)
		}
	}
	if _, err := conn.Exec(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("postgres: create schema_migrations: %w", err)
	}
	var cur int
	if err := conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return fmt.Errorf("postgres: read schema version: %w", err)
	}
	if err := migrate.CheckVersion(cur, migrations); err != nil {
		return err
	}
	for _, m := range migrate.Pending(cur, migrations) {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			if m.Seed != "" {
				if _, err := tx.Exec(ctx, m.Seed); err != nil {
					return fmt.Errorf("seed: %w", err)
				}
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migrate to version %d (%s): %w", m.Version, m.Name, err)
		}
		s.logger.Info("applied store migration", "backend", "postgres", "schema", schema, "version", m.Version, "name", m.Name)
	}
	return nil
}

// mapErr wraps err with what, translating no-rows and constraint violations
// into the store's sentinels.
func mapErr(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%s: %w", what, store.ErrConflict)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%s: referenced row: %w", what, store.ErrNotFound)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// storable reports whether PostgreSQL can hold s as text: a key it cannot
// hold cannot exist, so lookups answer ErrNotFound instead of an encoding
// error.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// pgTime truncates to PostgreSQL's microsecond precision in Go, so the stored
// value does not depend on how the wire format rounds.
func pgTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// nullTime maps the zero time to NULL ("never").
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	v := pgTime(t)
	return &v
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func validStatus(st store.KeyStatus) bool {
	return st == store.KeyActive || st == store.KeyInactive
}

// CreateAccount implements store.Store.
func (s *Store) CreateAccount(ctx context.Context, a store.Account) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO accounts (id, alias, created_at) VALUES ($1, $2, $3)`,
		a.ID, a.Alias, pgTime(a.CreatedAt))
	if err != nil {
		return mapErr(err, fmt.Sprintf("create account %q", a.ID))
	}
	return nil
}

// GetAccount implements store.Store.
func (s *Store) GetAccount(ctx context.Context, id string) (store.Account, error) {
	what := fmt.Sprintf("get account %q", id)
	if !storable(id) {
		return store.Account{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	var a store.Account
	err := s.pool.QueryRow(ctx, `SELECT id, alias, created_at FROM accounts WHERE id = $1`, id).Scan(&a.ID, &a.Alias, &a.CreatedAt)
	if err != nil {
		return store.Account{}, mapErr(err, what)
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return a, nil
}

// ListAccounts implements store.Store.
func (s *Store) ListAccounts(ctx context.Context) ([]store.Account, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, alias, created_at FROM accounts ORDER BY id`)
	if err != nil {
		return nil, mapErr(err, "list accounts")
	}
	defer rows.Close()
	out := []store.Account{}
	for rows.Next() {
		var a store.Account
		if err := rows.Scan(&a.ID, &a.Alias, &a.CreatedAt); err != nil {
			return nil, mapErr(err, "list accounts")
		}
		a.CreatedAt = a.CreatedAt.UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, "list accounts")
	}
	return out, nil
}

const selectAccessKey = `SELECT access_key_id, account_id, principal_type, principal_arn, principal_id, user_name,
	status, sealed_secret, created_at, last_used_at, last_used_region, last_used_service FROM access_keys`

func scanAccessKey(row pgx.Row) (store.AccessKey, error) {
	var k store.AccessKey
	var lastUsed *time.Time
	var ptype, status string
	err := row.Scan(&k.AccessKeyID, &k.AccountID, &ptype, &k.PrincipalARN, &k.PrincipalID, &k.UserName,
		&status, &k.SealedSecret, &k.CreatedAt, &lastUsed, &k.LastUsedRegion, &k.LastUsedService)
	if err != nil {
		return store.AccessKey{}, err
	}
	k.PrincipalType = store.PrincipalType(ptype)
	k.Status = store.KeyStatus(status)
	k.SealedSecret = nonNil(k.SealedSecret)
	k.CreatedAt = k.CreatedAt.UTC()
	if lastUsed != nil {
		k.LastUsedAt = lastUsed.UTC()
	}
	return k, nil
}

// CreateAccessKey implements store.Store.
func (s *Store) CreateAccessKey(ctx context.Context, k store.AccessKey) error {
	what := fmt.Sprintf("create access key %q", k.AccessKeyID)
	if !validStatus(k.Status) {
		return fmt.Errorf("%s: invalid status %q", what, k.Status)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO access_keys (access_key_id, account_id, principal_type, principal_arn,
		principal_id, user_name, status, sealed_secret, created_at, last_used_at, last_used_region, last_used_service)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		k.AccessKeyID, k.AccountID, string(k.PrincipalType), k.PrincipalARN, k.PrincipalID, k.UserName,
		string(k.Status), nonNil(k.SealedSecret), pgTime(k.CreatedAt), nullTime(k.LastUsedAt),
		k.LastUsedRegion, k.LastUsedService)
	if err != nil {
		return mapErr(err, what)
	}
	return nil
}

// GetAccessKey implements store.Store.
func (s *Store) GetAccessKey(ctx context.Context, accessKeyID string) (store.AccessKey, error) {
	what := fmt.Sprintf("get access key %q", accessKeyID)
	if !storable(accessKeyID) {
		return store.AccessKey{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	k, err := scanAccessKey(s.pool.QueryRow(ctx, selectAccessKey+` WHERE access_key_id = $1`, accessKeyID))
	if err != nil {
		return store.AccessKey{}, mapErr(err, what)
	}
	return k, nil
}

// ListAccessKeys implements store.Store.
func (s *Store) ListAccessKeys(ctx context.Context, principalARN string) ([]store.AccessKey, error) {
	what := fmt.Sprintf("list access keys of %q", principalARN)
	out := []store.AccessKey{}
	if !storable(principalARN) {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, selectAccessKey+` WHERE principal_arn = $1 ORDER BY created_at, access_key_id`, principalARN)
	if err != nil {
		return nil, mapErr(err, what)
	}
	defer rows.Close()
	for rows.Next() {
		k, err := scanAccessKey(rows)
		if err != nil {
			return nil, mapErr(err, what)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, what)
	}
	return out, nil
}

// execOne runs a write keyed by id that must touch exactly one row; zero
// rows is ErrNotFound.
func (s *Store) execOne(ctx context.Context, what, id, query string, args ...any) error {
	if !storable(id) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return mapErr(err, what)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// SetAccessKeyStatus implements store.Store.
func (s *Store) SetAccessKeyStatus(ctx context.Context, accessKeyID string, status store.KeyStatus) error {
	what := fmt.Sprintf("set status of access key %q", accessKeyID)
	if !validStatus(status) {
		return fmt.Errorf("%s: invalid status %q", what, status)
	}
	return s.execOne(ctx, what, accessKeyID, `UPDATE access_keys SET status = $1 WHERE access_key_id = $2`, string(status), accessKeyID)
}

// TouchAccessKey implements store.Store.
func (s *Store) TouchAccessKey(ctx context.Context, accessKeyID string, at time.Time, region, service string) error {
	return s.execOne(ctx, fmt.Sprintf("touch access key %q", accessKeyID), accessKeyID,
		`UPDATE access_keys SET last_used_at = $1, last_used_region = $2, last_used_service = $3 WHERE access_key_id = $4`,
		nullTime(at), region, service, accessKeyID)
}

// DeleteAccessKey implements store.Store.
func (s *Store) DeleteAccessKey(ctx context.Context, accessKeyID string) error {
	return s.execOne(ctx, fmt.Sprintf("delete access key %q", accessKeyID), accessKeyID,
		`DELETE FROM access_keys WHERE access_key_id = $1`, accessKeyID)
}

// GetMeta implements store.Store.
func (s *Store) GetMeta(ctx context.Context, key string) ([]byte, error) {
	what := fmt.Sprintf("get meta %q", key)
	if !storable(key) {
		return nil, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	var v []byte
	if err := s.pool.QueryRow(ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&v); err != nil {
		return nil, mapErr(err, what)
	}
	return nonNil(v), nil
}

// PutMetaIfAbsent implements store.Store. ON CONFLICT DO NOTHING lets exactly
// one of several racing servers insert the row.
func (s *Store) PutMetaIfAbsent(ctx context.Context, key string, value []byte) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, nonNil(value))
	if err != nil {
		return false, mapErr(err, fmt.Sprintf("put meta %q", key))
	}
	return tag.RowsAffected() == 1, nil
}

// Reset implements store.Store: one TRUNCATE of every table in the schema
// except schema_migrations, then the migrations' Seed statements, in one
// transaction. Tables are found in the catalog, so tables added by later
// migrations are covered without touching this code; truncating them
// together satisfies their foreign keys.
func (s *Store) Reset(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT tablename FROM pg_tables
			WHERE schemaname = current_schema() AND tablename <> 'schema_migrations' ORDER BY tablename`)
		if err != nil {
			return err
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(tables) > 0 {
			quoted := make([]string, len(tables))
			for i, t := range tables {
				quoted[i] = pgx.Identifier{t}.Sanitize()
			}
			if _, err := tx.Exec(ctx, `TRUNCATE TABLE `+strings.Join(quoted, ", ")); err != nil {
				return err
			}
		}
		for _, m := range migrations {
			if m.Seed != "" {
				if _, err := tx.Exec(ctx, m.Seed); err != nil {
					return fmt.Errorf("seed of version %d: %w", m.Version, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	return nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// Close implements store.Store. It is safe to call more than once.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}
