package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/migrate"
	"github.com/bulwark-security/bulwark/internal/store/storetest"
)

// defaultTestDSN is the PostgreSQL the test environment and CI provide;
// BULWARK_TEST_POSTGRES_DSN overrides it.
const defaultTestDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var (
	reachOnce sync.Once
	reachErr  error
)

// baseDSN returns the server DSN, skipping the test only when nothing listens
// there (connection refused) and CI is unset; CI always has PostgreSQL.
func baseDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("BULWARK_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = defaultTestDSN
	}
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			reachErr = err
			return
		}
		conn.Close(ctx)
	})
	if reachErr != nil {
		if errors.Is(reachErr, syscall.ECONNREFUSED) && os.Getenv("CI") == "" {
			t.Skipf("PostgreSQL not running (connection refused; set BULWARK_TEST_POSTGRES_DSN or start it): %v", reachErr)
		}
		t.Fatalf("PostgreSQL at the test DSN: %v", reachErr)
	}
	return dsn
}

// withParam adds a parameter to a URL or keyword/value DSN.
func withParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	if !strings.Contains(dsn, "://") {
		return dsn + " " + key + "=" + value
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse test DSN: %v", err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// freshSchema names a new schema and drops it when the test ends.
func freshSchema(t testing.TB) string {
	t.Helper()
	dsn := baseDSN(t)
	schema := "bulwark_test_" + strings.ToLower(rand.Text()[:12])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

func openSchema(t testing.TB, schema string) *Store {
	t.Helper()
	s, err := Open(context.Background(), withParam(t, baseDSN(t), "search_path", schema), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Registered after freshSchema's cleanup, so it runs first: close, then drop.
	t.Cleanup(func() { s.Close() })
	return s
}

func openFresh(t testing.TB) *Store { return openSchema(t, freshSchema(t)) }

func TestConformance(t *testing.T) {
	baseDSN(t) // skip or fail once, not in every subtest
	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
}

func TestTakeSchema(t *testing.T) {
	tests := []struct {
		name     string
		params   map[string]string
		want     string
		wantPath string
		wantErr  bool
	}{
		{"none", map[string]string{}, "", "", false},
		{"schema", map[string]string{"schema": "bulwark_a"}, "bulwark_a", `"bulwark_a"`, false},
		{"search_path", map[string]string{"search_path": "bulwark_b, public"}, "bulwark_b", `"bulwark_b"`, false},
		{"quoted search_path", map[string]string{"search_path": `"bulwark_c"`}, "bulwark_c", `"bulwark_c"`, false},
		{"both agree", map[string]string{"schema": "x", "search_path": "x"}, "x", `"x"`, false},
		{"both disagree", map[string]string{"schema": "x", "search_path": "y"}, "", "", true},
		{"empty schema", map[string]string{"schema": ""}, "", "", true},
		{"upper case", map[string]string{"schema": "Bulwark"}, "", "", true},
		{"injection", map[string]string{"schema": `x"; DROP SCHEMA public; --`}, "", "", true},
		{"too long", map[string]string{"schema": strings.Repeat("a", 64)}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := takeSchema(tt.params)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("takeSchema = %q, %v", got, err)
			}
			if err == nil && tt.params["search_path"] != tt.wantPath {
				t.Errorf("search_path = %q, want %q", tt.params["search_path"], tt.wantPath)
			}
			if _, ok := tt.params["schema"]; ok {
				t.Error("schema parameter left for the server")
			}
		})
	}
}

func TestSchemaParameter(t *testing.T) {
	schema := freshSchema(t)
	s, err := Open(t.Context(), withParam(t, baseDSN(t), "schema", schema), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got string
	if err := s.pool.QueryRow(t.Context(), `SELECT current_schema()`).Scan(&got); err != nil || got != schema {
		t.Fatalf("current_schema = %q, %v; want %q", got, err, schema)
	}
}

func TestBadDSNDoesNotLeakPassword(t *testing.T) {
	_, err := Open(t.Context(), "postgres://u:hunter2secret@[::1:5432/db", nil)
	if err == nil || strings.Contains(err.Error(), "hunter2secret") {
		t.Fatalf("Open(bad dsn) = %v", err)
	}
}

// Two servers on one schema see each other's writes and race fairly.
func TestTwoInstancesShareState(t *testing.T) {
	schema := freshSchema(t)
	a, b := openSchema(t, schema), openSchema(t, schema)
	ctx := t.Context()
	if err := a.CreateAccount(ctx, store.Account{ID: "123456789012", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetAccount(ctx, "123456789012"); err != nil {
		t.Fatalf("b does not see a's account: %v", err)
	}
	if err := b.CreateAccount(ctx, store.Account{ID: "123456789012", CreatedAt: time.Now()}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("b re-creating a's account = %v, want ErrConflict", err)
	}
	for round := range 10 {
		key := fmt.Sprintf("bootstrap-%d", round)
		var wg sync.WaitGroup
		var wonA, wonB bool
		var errA, errB error
		wg.Go(func() { wonA, errA = a.PutMetaIfAbsent(ctx, key, []byte("a")) })
		wg.Go(func() { wonB, errB = b.PutMetaIfAbsent(ctx, key, []byte("b")) })
		wg.Wait()
		if errA != nil || errB != nil || wonA == wonB {
			t.Fatalf("round %d: a=%v,%v b=%v,%v; want exactly one winner", round, wonA, errA, wonB, errB)
		}
	}
	if err := a.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetAccount(ctx, "123456789012"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b after a's Reset: %v", err)
	}
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	schema := freshSchema(t)
	dsn := withParam(t, baseDSN(t), "search_path", schema)
	const servers = 6
	stores := make([]*Store, servers)
	errs := make([]error, servers)
	var wg sync.WaitGroup
	for i := range servers {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), dsn, nil) })
	}
	wg.Wait()
	for i := range servers {
		if errs[i] != nil {
			t.Fatalf("Open %d: %v", i, errs[i])
		}
		defer stores[i].Close()
	}
	var n, maxV int
	err := stores[0].pool.QueryRow(t.Context(), `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &maxV)
	if err != nil {
		t.Fatal(err)
	}
	if latest := migrate.Latest(migrations); n != latest || maxV != latest {
		t.Fatalf("schema_migrations has %d rows up to %d, want %d", n, maxV, latest)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	schema := freshSchema(t)
	s := openSchema(t, schema)
	if _, err := s.pool.Exec(t.Context(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', now())`); err != nil {
		t.Fatal(err)
	}
	_, err := Open(t.Context(), withParam(t, baseDSN(t), "search_path", schema), nil)
	if !errors.Is(err, migrate.ErrSchemaTooNew) {
		t.Fatalf("Open(newer schema) = %v, want ErrSchemaTooNew", err)
	}
}

func TestUnreachableServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, err := Open(ctx, "postgres://postgres@127.0.0.1:1/test?connect_timeout=2", nil)
	if err == nil {
		t.Fatal("Open(unreachable) succeeded")
	}
}

func BenchmarkGetAccessKey(b *testing.B) {
	s := openFresh(b)
	ctx := context.Background()
	if err := s.CreateAccount(ctx, store.Account{ID: "123456789012", CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	k := store.AccessKey{AccessKeyID: "AKIA0000000000000001", AccountID: "123456789012",
		PrincipalType: store.PrincipalRoot, PrincipalARN: "arn:aws:iam::123456789012:root",
		PrincipalID: "123456789012", Status: store.KeyActive, SealedSecret: make([]byte, 137), CreatedAt: time.Now()}
	if err := s.CreateAccessKey(ctx, k); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetAccessKey(ctx, k.AccessKeyID); err != nil {
			b.Fatal(err)
		}
	}
}

func TestResetKeepsMigrations(t *testing.T) {
	s := openFresh(t)
	if err := s.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.pool.QueryRow(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != migrate.Latest(migrations) {
		t.Fatalf("schema_migrations rows after Reset = %d, %v", n, err)
	}
}

// A migration's Seed rows exist after migrating and again after Reset.
func TestSeedSurvivesReset(t *testing.T) {
	saved := migrations
	t.Cleanup(func() { migrations = saved })
	migrations = append(slices.Clone(saved), migrate.Migration{
		Version: len(saved) + 1, Name: "test counter",
		SQL:  `CREATE TABLE test_counter (n bigint NOT NULL)`,
		Seed: `INSERT INTO test_counter (n) VALUES (0)`,
	})
	s := openFresh(t)
	count := func() (rows, n int) {
		t.Helper()
		if err := s.pool.QueryRow(t.Context(), `SELECT COUNT(*), COALESCE(MAX(n), -1) FROM test_counter`).Scan(&rows, &n); err != nil {
			t.Fatal(err)
		}
		return rows, n
	}
	if rows, n := count(); rows != 1 || n != 0 {
		t.Fatalf("after migrate: %d rows, n=%d", rows, n)
	}
	if _, err := s.pool.Exec(t.Context(), `UPDATE test_counter SET n = 5`); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	if rows, n := count(); rows != 1 || n != 0 {
		t.Fatalf("after Reset: %d rows, n=%d", rows, n)
	}
}
