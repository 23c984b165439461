package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/iamsql"
	"github.com/bulwark-security/bulwark/internal/store/migrate"
	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

func openMemory(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), ":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openFile(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "data", "bulwark.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformanceMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openMemory(t) })
}

func TestConformanceFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openFile(t) })
}

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn, want string
		wantErr   bool
	}{
		{"bulwark-data/bulwark.db", "bulwark-data/bulwark.db", false},
		{"sqlite:///var/lib/bulwark.db", "/var/lib/bulwark.db", false},
		{"sqlite://rel/b.db", "rel/b.db", false},
		{"sqlite:rel/b.db", "rel/b.db", false},
		{"sqlite:/abs/b.db", "/abs/b.db", false},
		{":memory:", ":memory:", false},
		{"sqlite://:memory:", ":memory:", false},
		{"", "", true},
		{"sqlite://", "", true},
		{"a.db?_pragma=journal_mode(DELETE)", "", true},
		{"file:a.db", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.dsn, func(t *testing.T) {
			got, err := parseDSN(tt.dsn)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("parseDSN(%q) = %q, %v", tt.dsn, got, err)
			}
		})
	}
}

func TestFileModesAndPragmas(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "bulwark.db")
	s, err := Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CreateAccount(t.Context(), store.Account{ID: "123456789012", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode = %v, want %v", filepath.Base(p), fi.Mode().Perm(), want)
		}
	}
	pragmas := []struct {
		db         string
		name, want string
	}{
		{"w", "journal_mode", "wal"},
		{"w", "page_size", "16384"},
		{"w", "foreign_keys", "1"},
		{"w", "synchronous", "1"},
		{"w", "busy_timeout", "5000"},
		{"r", "query_only", "1"},
		{"r", "foreign_keys", "1"},
		{"r", "busy_timeout", "5000"},
	}
	for _, p := range pragmas {
		db := s.w
		if p.db == "r" {
			db = s.r
		}
		var got string
		if err := db.QueryRowContext(t.Context(), "PRAGMA "+p.name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != p.want {
			t.Errorf("%s: PRAGMA %s = %s, want %s", p.db, p.name, got, p.want)
		}
	}
}

func TestTightensExistingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulwark.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulwark.db")
	s, err := Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutMetaIfAbsent(t.Context(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.GetMeta(t.Context(), "k"); err != nil || string(v) != "v" {
		t.Fatalf("GetMeta after reopen = %q, %v", v, err)
	}
	var n int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != migrate.Latest(migrations) {
		t.Fatalf("schema_migrations rows = %d, %v", n, err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulwark.db")
	s, err := Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(t.Context(), path, nil)
	if !errors.Is(err, migrate.ErrSchemaTooNew) {
		t.Fatalf("Open(newer schema) = %v, want ErrSchemaTooNew", err)
	}
}

// Two processes opening one new file at once must not both migrate; stores in
// one process stand in for them (each has its own connections).
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulwark.db")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(t.Context(), path, nil)
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
}

func TestMemoryStoresAreIndependent(t *testing.T) {
	a, b := openMemory(t), openMemory(t)
	if _, err := a.PutMetaIfAbsent(t.Context(), "k", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetMeta(t.Context(), "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second in-memory store sees the first: %v", err)
	}
}

func TestResetSpeedMemory(t *testing.T) {
	s := openMemory(t)
	ctx := t.Context()
	if err := s.CreateAccount(ctx, store.Account{ID: "123456789012", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		k := store.AccessKey{AccessKeyID: fmt.Sprintf("AKIA%016d", i), AccountID: "123456789012",
			PrincipalType: store.PrincipalRoot, PrincipalARN: "arn:aws:iam::123456789012:root",
			Status: store.KeyActive, SealedSecret: make([]byte, 97), CreatedAt: time.Now()}
		if err := s.CreateAccessKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	d := time.Since(start)
	t.Logf("Reset of 1,001 rows: %v", d)
	if d > 50*time.Millisecond && !raceEnabled {
		t.Errorf("Reset took %v, want < 50ms", d)
	}
}

func BenchmarkGetAccessKey(b *testing.B) {
	for _, bc := range []struct {
		name string
		open func(testing.TB) *Store
	}{{"memory", openMemory}, {"file", openFile}} {
		b.Run(bc.name, func(b *testing.B) {
			s := bc.open(b)
			ctx := context.Background()
			if err := s.CreateAccount(ctx, store.Account{ID: "123456789012", CreatedAt: time.Now()}); err != nil {
				b.Fatal(err)
			}
			const n = 1000
			for i := range n {
				k := store.AccessKey{AccessKeyID: fmt.Sprintf("AKIA%016d", i), AccountID: "123456789012",
					PrincipalType: store.PrincipalRoot, PrincipalARN: "arn:aws:iam::123456789012:root",
					PrincipalID: "123456789012", Status: store.KeyActive, SealedSecret: make([]byte, 137),
					CreatedAt: time.Now()}
				if err := s.CreateAccessKey(ctx, k); err != nil {
					b.Fatal(err)
				}
			}
			ids := make([]string, n)
			for i := range ids {
				ids[i] = fmt.Sprintf("AKIA%016d", i)
			}
			b.Run("serial", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := s.GetAccessKey(ctx, ids[i%n]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						if _, err := s.GetAccessKey(ctx, ids[i%n]); err != nil {
							b.Error(err)
							return
						}
						i++
					}
				})
			})
		})
	}
}

// An in-memory database is its one connection: a query interrupted by its
// context must not make database/sql discard the connection and the data.
func TestMemorySurvivesInterruptedQueries(t *testing.T) {
	s := openMemory(t)
	if err := s.CreateAccount(t.Context(), store.Account{ID: "123456789012", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(i%30)*time.Microsecond)
		s.ListAccounts(ctx)
		s.PutMetaIfAbsent(ctx, fmt.Sprint(i), []byte("x"))
		cancel()
	}
	if _, err := s.GetAccount(t.Context(), "123456789012"); err != nil {
		t.Fatalf("data lost after interrupted queries: %v", err)
	}
}

func TestResetKeepsMigrations(t *testing.T) {
	for name, s := range map[string]*Store{"memory": openMemory(t), "file": openFile(t)} {
		t.Run(name, func(t *testing.T) {
			if err := s.Reset(t.Context()); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := s.r.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != migrate.Latest(migrations) {
				t.Fatalf("schema_migrations rows after Reset = %d, %v", n, err)
			}
		})
	}
}

// WAL lets reads proceed while a write transaction is open.
func TestReadsDuringWrite(t *testing.T) {
	s := openFile(t)
	ctx := t.Context()
	if err := s.CreateAccount(ctx, store.Account{ID: "123456789012", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`INSERT INTO meta (key, value) VALUES ('pending', x'00')`); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := s.GetAccount(rctx, "123456789012"); err != nil {
		t.Fatalf("read blocked by an open write transaction: %v", err)
	}
	if _, err := s.GetMeta(rctx, "pending"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("read saw an uncommitted write: %v", err)
	}
}

// Two stores on one file (as two processes would be) both write without
// SQLITE_BUSY reaching the caller: busy_timeout and BEGIN IMMEDIATE queue them.
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulwark.db")
	var stores [2]*Store
	for i := range stores {
		s, err := Open(t.Context(), path, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			s := stores[g%2]
			for i := range 25 {
				if _, err := s.PutMetaIfAbsent(t.Context(), fmt.Sprintf("k-%d-%d", g, i), []byte("v")); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if _, err := stores[1].GetMeta(t.Context(), "k-0-24"); err != nil {
		t.Fatalf("second store does not see the first's write: %v", err)
	}
}

// A migration's Seed rows exist after migrating and again after Reset.
func TestSeedSurvivesReset(t *testing.T) {
	saved := migrations
	t.Cleanup(func() { migrations = saved })
	migrations = append(slices.Clone(saved), migrate.Migration{
		Version: len(saved) + 1, Name: "test counter",
		SQL:  `CREATE TABLE test_counter (n INTEGER NOT NULL) STRICT`,
		Seed: `INSERT INTO test_counter (n) VALUES (0)`,
	})
	s := openMemory(t)
	count := func() (rows, n int) {
		t.Helper()
		if err := s.r.QueryRow(`SELECT COUNT(*), COALESCE(MAX(n), -1) FROM test_counter`).Scan(&rows, &n); err != nil {
			t.Fatal(err)
		}
		return rows, n
	}
	if rows, n := count(); rows != 1 || n != 0 {
		t.Fatalf("after migrate: %d rows, n=%d", rows, n)
	}
	if _, err := s.w.Exec(`UPDATE test_counter SET n = 5`); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	if rows, n := count(); rows != 1 || n != 0 {
		t.Fatalf("after Reset: %d rows, n=%d", rows, n)
	}
}

// BenchmarkOpenExisting is the store's share of server start-up on an
// existing database (the target for the whole server is under 100 ms).
func BenchmarkOpenExisting(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bulwark.db")
	s, err := Open(context.Background(), path, nil)
	if err != nil {
		b.Fatal(err)
	}
	s.Close()
	for b.Loop() {
		s, err := Open(context.Background(), path, nil)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

func TestStatementCacheSkipsDynamicSQL(t *testing.T) {
	var c stmtCache
	s, err := Open(context.Background(), ":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c.prepare(context.Background(), s.w, iamsql.Dynamic+"SELECT 1")
	c.prepare(context.Background(), s.w, "SELECT 1")
	c.prepare(context.Background(), s.w, "SELECT 1")
	if n := c.n.Load(); n != 1 || c.get(s.w, "SELECT 1") == nil || c.get(s.w, iamsql.Dynamic+"SELECT 1") != nil {
		t.Fatalf("cached %d statements; want only the static one", n)
	}
	if err := c.close(); err != nil || c.get(s.w, "SELECT 1") != nil {
		t.Fatalf("close: %v", err)
	}
}
