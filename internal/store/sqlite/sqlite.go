// Package sqlite is Bulwark's default store: an embedded SQLite database
// (modernc.org/sqlite, pure Go, no cgo) implementing store.Store.
//
// # DSN
//
// Open accepts a file path ("bulwark-data/bulwark.db"), the same with a
// "sqlite://" or "sqlite:" prefix ("sqlite:///var/lib/bulwark/bulwark.db" is
// the absolute path /var/lib/bulwark/bulwark.db), or ":memory:" (also
// "sqlite://:memory:")
// for a private in-memory database that lives until Close. The path may not
// contain '?'.
//
// # Concurrency and durability
//
// A file database runs in WAL mode with foreign keys on and a 5 s busy
// timeout. Writes go through one dedicated connection whose transactions
// start with BEGIN IMMEDIATE, so concurrent writers in this process queue in
// Go instead of failing with SQLITE_BUSY; reads use a separate pool of
// read-only connections that WAL lets run alongside the writer.
//
// synchronous=NORMAL is the deliberate tradeoff: in WAL mode it never
// corrupts the database, but a power loss (not a process crash) can roll back
// the last transactions committed before it. Bulwark's writes are
// administrative (keys, policies) and clients retry, so the large write
// speed-up is worth it.
//
// An in-memory database uses a single connection for everything: SQLite
// gives each connection its own private ":memory:" database, so one
// connection that is never closed is the only way every goroutine sees the
// same data.
//
// The database file is created with mode 0600 in a directory created with
// mode 0700; SQLite gives its -wal and -shm files the database file's mode.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/bulwark-security/bulwark/internal/store/sqlstore"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/migrate"
)

// busyTimeout bounds how long a statement waits for another process's lock.
const busyTimeout = 5 * time.Second

// Store is a store.Store backed by SQLite. Create it with Open.
type Store struct {
	w      *sql.DB // the single writer connection
	r      *sql.DB // read-only pool; == w for an in-memory database
	logger *slog.Logger

	getKey *sql.Stmt // hot path: every signed request looks up its key
	stmts  stmtCache // the store parts' prepared statements

	// The parts shared with PostgreSQL, over this store's backend.
	sqlstore.Parts

	// ckpt is the connection that checkpoints the WAL in the background
	// (file databases only); see checkpoints.
	ckpt     *sql.DB
	stopCkpt chan struct{}
	ckptDone chan struct{}

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database named by dsn, applies pending
// migrations and returns the store. A nil logger discards logs.
func Open(ctx context.Context, dsn string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := migrate.Validate(migrations); err != nil {
		return nil, err
	}
	path, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	s := &Store{logger: logger}
	s.Parts = sqlstore.New(backend{s})
	if path == ":memory:" {
		db, err := sql.Open("sqlite", ":memory:?_pragma=foreign_keys(1)&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open in-memory sqlite: %w", err)
		}
		// One connection, never recycled: closing it would drop the database.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
		s.w, s.r = db, db
	} else {
		if err := prepareFile(path, logger); err != nil {
			return nil, err
		}
		if err := initFile(ctx, path); err != nil {
			return nil, err
		}
		common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)", busyTimeout.Milliseconds())
		w, err := sql.Open("sqlite", path+"?"+common+"&_pragma=journal_mode(WAL)&_txlock=immediate"+
			fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", writerCheckpointPages))
		if err != nil {
			return nil, fmt.Errorf("open sqlite %q: %w", path, err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		w.SetConnMaxIdleTime(0)
		s.w = w
		// The writer sets WAL mode (persistent in the file) before any reader
		// connects; a query_only reader could not.
		if err := retryBusy(ctx, func() error { return w.PingContext(ctx) }); err != nil {
			w.Close()
			return nil, fmt.Errorf("open sqlite %q: %w", path, err)
		}
		r, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("open sqlite %q: %w", path, err)
		}
		n := max(4, runtime.GOMAXPROCS(0))
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
		s.r = r
		c, err := sql.Open("sqlite", path+"?"+common)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("open sqlite %q: %w", path, err)
		}
		c.SetMaxOpenConns(1)
		s.ckpt = c
		s.stopCkpt = make(chan struct{})
		s.ckptDone = make(chan struct{})
		go s.checkpoints()
	}
	if err := retryBusy(ctx, func() error { return s.migrate(ctx) }); err != nil {
		s.Close()
		return nil, err
	}
	s.getKey, err = s.r.PrepareContext(ctx, selectAccessKey+` WHERE access_key_id = ?`)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("prepare access key lookup: %w", err)
	}
	return s, nil
}

// parseDSN returns the file path or ":memory:".
func parseDSN(dsn string) (string, error) {
	path, ok := strings.CutPrefix(dsn, "sqlite://")
	if !ok {
		path = strings.TrimPrefix(dsn, "sqlite:")
	}
	switch {
	case path == "":
		return "", errors.New("sqlite dsn: empty path")
	case strings.ContainsRune(path, '?'):
		return "", fmt.Errorf("sqlite dsn %q: the path may not contain '?'", dsn)
	case strings.HasPrefix(path, "file:"):
		return "", fmt.Errorf("sqlite dsn %q: give a plain file path, not a file: URI", dsn)
	}
	return path, nil
}

// prepareFile creates the directory (0700) and the database file (0600)
// before SQLite does, so SQLite never creates them with the umask's looser
// default, and tightens an existing file that others can read.
func prepareFile(path string, logger *slog.Logger) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory %q: %w", dir, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create database file %q: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat database file %q: %w", path, err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		logger.Warn("database file was accessible to other users; restricting to owner", "path", path, "mode", fi.Mode().Perm().String())
		if err := f.Chmod(0o600); err != nil {
			return fmt.Errorf("restrict database file %q: %w", path, err)
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			if err := os.Chmod(path+suffix, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("restrict %q: %w", path+suffix, err)
			}
		}
	}
	return nil
}

// pageSize is the page size of a new database file. Larger than SQLite's
// 4 KiB default because the audit trail dominates its writes: records of
// about a kilobyte, appended in transactions of hundreds, cost one WAL
// frame write (a pwrite with its header and checksum), and one checkpoint
// copy, per page; 16 KiB pages make a quarter as many. An existing file
// keeps the page size it was created with (WAL mode cannot change it).
const pageSize = 16384

// initFile gives a new (empty) database file its page size and WAL mode
// before anything materialises its first page; modernc.org/sqlite applies
// DSN pragmas in alphabetical order, journal_mode before page_size, so
// this cannot be said in the writer's DSN.
func initFile(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat database file %q: %w", path, err)
	}
	if fi.Size() != 0 {
		return nil
	}
	db, err := sql.Open("sqlite", path+fmt.Sprintf("?_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()))
	if err != nil {
		return fmt.Errorf("open sqlite %q: %w", path, err)
	}
	defer db.Close()
	for _, q := range []string{fmt.Sprintf("PRAGMA page_size = %d", pageSize), "PRAGMA journal_mode = WAL"} {
		if err := retryBusy(ctx, func() error { _, err := db.ExecContext(ctx, q); return err }); err != nil {
			return fmt.Errorf("initialise sqlite %q: %s: %w", path, q, err)
		}
	}
	return nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at TEXT    NOT NULL
) STRICT`

// migrate applies each pending migration in its own BEGIN IMMEDIATE
// transaction, re-reading the version inside it, so two processes opening
// the same file apply each version exactly once.
func (s *Store) migrate(ctx context.Context) error {
	for {
		done, err := s.migrateOne(ctx)
		if err != nil || done {
			return err
		}
	}
}

func (s *Store) migrateOne(ctx context.Context) (done bool, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
		return false, fmt.Errorf("create schema_migrations: %w", err)
	}
	var cur int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return false, fmt.Errorf("migrate: read version: %w", err)
	}
	if err := migrate.CheckVersion(cur, migrations); err != nil {
		return false, err
	}
	pending := migrate.Pending(cur, migrations)
	if len(pending) == 0 {
		return true, nil
	}
	m := pending[0]
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("migrate to version %d (%s): %w", m.Version, m.Name, err)
	}
	if m.Seed != "" {
		if _, err := tx.ExecContext(ctx, m.Seed); err != nil {
			return false, fmt.Errorf("migrate to version %d (%s): seed: %w", m.Version, m.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return false, fmt.Errorf("migrate: record version %d: %w", m.Version, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate: commit version %d: %w", m.Version, err)
	}
	s.logger.Info("applied store migration", "backend", "sqlite", "version", m.Version, "name", m.Name)
	return false, nil
}

// retryBusy retries fn while it fails with SQLITE_BUSY, for up to
// busyTimeout. SQLite skips the busy handler in a few cases that only happen
// while several processes open one new file at once (switching to WAL, WAL
// recovery), so Open retries those itself.
func retryBusy(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(busyTimeout)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := fn()
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// mapErr wraps err with what, translating SQLite's constraint errors and
// sql.ErrNoRows into the store's sentinels.
func mapErr(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("%s: %w", what, store.ErrConflict)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%s: referenced row: %w", what, store.ErrNotFound)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// toMicros stores a time as UTC unix microseconds; fromMicros reverses it.
func toMicros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros maps the zero time to NULL ("never").
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// nonNil makes an empty slice bind as an empty BLOB rather than NULL.
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
	_, err := s.w.ExecContext(ctx, `INSERT INTO accounts (id, alias, created_at) VALUES (?, ?, ?)`,
		a.ID, a.Alias, toMicros(a.CreatedAt))
	if err != nil {
		return mapErr(err, fmt.Sprintf("create account %q", a.ID))
	}
	return nil
}

// GetAccount implements store.Store.
func (s *Store) GetAccount(ctx context.Context, id string) (store.Account, error) {
	var a store.Account
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, alias, created_at FROM accounts WHERE id = ?`, id).Scan(&a.ID, &a.Alias, &created)
	if err != nil {
		return store.Account{}, mapErr(err, fmt.Sprintf("get account %q", id))
	}
	a.CreatedAt = fromMicros(created)
	return a, nil
}

// ListAccounts implements store.Store.
func (s *Store) ListAccounts(ctx context.Context) ([]store.Account, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, alias, created_at FROM accounts ORDER BY id`)
	if err != nil {
		return nil, mapErr(err, "list accounts")
	}
	defer rows.Close()
	out := []store.Account{}
	for rows.Next() {
		var a store.Account
		var created int64
		if err := rows.Scan(&a.ID, &a.Alias, &created); err != nil {
			return nil, mapErr(err, "list accounts")
		}
		a.CreatedAt = fromMicros(created)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, "list accounts")
	}
	return out, nil
}

const selectAccessKey = `SELECT access_key_id, account_id, principal_type, principal_arn, principal_id, user_name,
	status, sealed_secret, created_at, last_used_at, last_used_region, last_used_service FROM access_keys`

type scanner interface{ Scan(dest ...any) error }

func scanAccessKey(sc scanner) (store.AccessKey, error) {
	var k store.AccessKey
	var created int64
	var lastUsed sql.NullInt64
	var ptype, status string
	err := sc.Scan(&k.AccessKeyID, &k.AccountID, &ptype, &k.PrincipalARN, &k.PrincipalID, &k.UserName,
		&status, &k.SealedSecret, &created, &lastUsed, &k.LastUsedRegion, &k.LastUsedService)
	if err != nil {
		return store.AccessKey{}, err
	}
	k.PrincipalType = store.PrincipalType(ptype)
	k.Status = store.KeyStatus(status)
	k.SealedSecret = nonNil(k.SealedSecret)
	k.CreatedAt = fromMicros(created)
	if lastUsed.Valid {
		k.LastUsedAt = fromMicros(lastUsed.Int64)
	}
	return k, nil
}

// CreateAccessKey implements store.Store.
func (s *Store) CreateAccessKey(ctx context.Context, k store.AccessKey) error {
	what := fmt.Sprintf("create access key %q", k.AccessKeyID)
	if !validStatus(k.Status) {
		return fmt.Errorf("%s: invalid status %q", what, k.Status)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO access_keys (access_key_id, account_id, principal_type, principal_arn,
		principal_id, user_name, status, sealed_secret, created_at, last_used_at, last_used_region, last_used_service)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.AccessKeyID, k.AccountID, string(k.PrincipalType), k.PrincipalARN, k.PrincipalID, k.UserName,
		string(k.Status), nonNil(k.SealedSecret), toMicros(k.CreatedAt), nullMicros(k.LastUsedAt),
		k.LastUsedRegion, k.LastUsedService)
	if err != nil {
		return mapErr(err, what)
	}
	return nil
}

// GetAccessKey implements store.Store.
func (s *Store) GetAccessKey(ctx context.Context, accessKeyID string) (store.AccessKey, error) {
	k, err := scanAccessKey(s.getKey.QueryRowContext(ctx, accessKeyID))
	if err != nil {
		return store.AccessKey{}, mapErr(err, fmt.Sprintf("get access key %q", accessKeyID))
	}
	return k, nil
}

// ListAccessKeys implements store.Store.
func (s *Store) ListAccessKeys(ctx context.Context, principalARN string) ([]store.AccessKey, error) {
	what := fmt.Sprintf("list access keys of %q", principalARN)
	rows, err := s.r.QueryContext(ctx, selectAccessKey+` WHERE principal_arn = ? ORDER BY created_at, access_key_id`, principalARN)
	if err != nil {
		return nil, mapErr(err, what)
	}
	defer rows.Close()
	out := []store.AccessKey{}
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

// execOne runs a write that must touch exactly one row; zero rows is
// ErrNotFound.
func (s *Store) execOne(ctx context.Context, what, query string, args ...any) error {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return mapErr(err, what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return mapErr(err, what)
	}
	if n == 0 {
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
	return s.execOne(ctx, what, `UPDATE access_keys SET status = ? WHERE access_key_id = ?`, string(status), accessKeyID)
}

// TouchAccessKey implements store.Store.
func (s *Store) TouchAccessKey(ctx context.Context, accessKeyID string, at time.Time, region, service string) error {
	return s.execOne(ctx, fmt.Sprintf("touch access key %q", accessKeyID),
		`UPDATE access_keys SET last_used_at = ?, last_used_region = ?, last_used_service = ? WHERE access_key_id = ?`,
		nullMicros(at), region, service, accessKeyID)
}

// DeleteAccessKey implements store.Store.
func (s *Store) DeleteAccessKey(ctx context.Context, accessKeyID string) error {
	return s.execOne(ctx, fmt.Sprintf("delete access key %q", accessKeyID),
		`DELETE FROM access_keys WHERE access_key_id = ?`, accessKeyID)
}

// GetMeta implements store.Store.
func (s *Store) GetMeta(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	if err := s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v); err != nil {
		return nil, mapErr(err, fmt.Sprintf("get meta %q", key))
	}
	return nonNil(v), nil
}

// PutMetaIfAbsent implements store.Store. The single writer connection and
// ON CONFLICT DO NOTHING make exactly one racer see a row inserted.
func (s *Store) PutMetaIfAbsent(ctx context.Context, key string, value []byte) (bool, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, nonNil(value))
	if err != nil {
		return false, mapErr(err, fmt.Sprintf("put meta %q", key))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, mapErr(err, fmt.Sprintf("put meta %q", key))
	}
	return n == 1, nil
}

// Reset implements store.Store: it empties every table except
// schema_migrations and re-runs the migrations' Seed statements, in one
// transaction. Tables are found in the catalog, so tables added by later
// migrations are covered without touching this code; deferred foreign keys
// let them be emptied in any order.
func (s *Store) Reset(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reset: begin: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
		return fmt.Errorf("reset: defer foreign keys: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_schema
		WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> 'schema_migrations'`)
	if err != nil {
		return fmt.Errorf("reset: list tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("reset: list tables: %w", err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reset: list tables: %w", err)
	}
	for _, t := range tables {
		// The name comes from the catalog, not from a caller; quote it anyway.
		if _, err := tx.ExecContext(ctx, `DELETE FROM "`+strings.ReplaceAll(t, `"`, `""`)+`"`); err != nil {
			return fmt.Errorf("reset: empty %s: %w", t, err)
		}
	}
	for _, m := range migrations {
		if m.Seed != "" {
			if _, err := tx.ExecContext(ctx, m.Seed); err != nil {
				return fmt.Errorf("reset: seed of version %d: %w", m.Version, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("reset: commit: %w", err)
	}
	return nil
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	if s.r != s.w {
		if err := s.r.PingContext(ctx); err != nil {
			return fmt.Errorf("ping sqlite: %w", err)
		}
	}
	return nil
}

// Close implements store.Store. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.ckpt != nil {
			close(s.stopCkpt)
			<-s.ckptDone
			errs = append(errs, s.ckpt.Close())
		}
		if s.getKey != nil {
			errs = append(errs, s.getKey.Close())
		}
		errs = append(errs, s.stmts.close())
		if s.r != nil && s.r != s.w {
			errs = append(errs, s.r.Close())
		}
		if s.w != nil {
			errs = append(errs, s.w.Close())
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("close sqlite: %w", err)
		}
	})
	return s.closeErr
}

// SQLite checkpoints the WAL into the database file from whichever
// connection commits when the WAL passes wal_autocheckpoint pages, so that
// commit (an audited API call's) pays for copying and syncing every page
// written since the last one: stalls of tens of milliseconds. A connection
// of its own checkpoints in the background instead (PASSIVE: it never
// blocks the writer or readers), and the writer's threshold is raised to a
// backstop that bounds the WAL should the background checkpoints fall
// behind (long readers).
const (
	checkpointEvery       = 250 * time.Millisecond
	writerCheckpointPages = 4000 // 64 MB of 16 KiB pages (16 MB in a file made with 4 KiB pages)
)

func (s *Store) checkpoints() {
	defer close(s.ckptDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	failing := false // log a run of failures once
	for {
		select {
		case <-s.stopCkpt:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var busy, logPages, done int
		err := s.ckpt.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logPages, &done)
		cancel()
		switch {
		case err != nil && !failing:
			s.logger.Warn("background WAL checkpoints failing; the writer checkpoints past its backstop", "err", err)
		case err == nil && failing:
			s.logger.Info("background WAL checkpoints work again")
		}
		failing = err != nil
	}
}
