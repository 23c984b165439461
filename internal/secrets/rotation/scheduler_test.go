package rotation

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/postgres"
)

const defaultTestDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// pgDSN returns the test server's DSN, skipping when nothing listens there
// outside CI.
func pgDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("BULWARK_TEST_POSTGRES_DSN")
	if dsn == "" {
		dsn = defaultTestDSN
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) && os.Getenv("CI") == "" {
			t.Skipf("PostgreSQL not running: %v", err)
		}
		t.Fatalf("PostgreSQL at the test DSN: %v", err)
	}
	conn.Close(ctx)
	return dsn
}

// pgSchema opens n stores (n servers) on a fresh schema dropped at the end.
func pgSchema(t *testing.T, n int) []testStore {
	t.Helper()
	dsn := pgDSN(t)
	schema := "bulwark_rot_" + strings.ToLower(rand.Text()[:12])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`)
			conn.Close(ctx)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	var out []testStore
	for range n {
		s, err := postgres.Open(t.Context(), u.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out = append(out, s)
	}
	if err := out[0].CreateAccount(t.Context(), store.Account{ID: acct, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return out
}

func sqliteFile(t *testing.T, n int) []testStore {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bulwark.db")
	var out []testStore
	for range n {
		out = append(out, openSQLite(t, path))
	}
	if err := out[0].CreateAccount(t.Context(), store.Account{ID: acct, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return out
}

// countingRotator counts createSecret calls per secret and token.
type countingRotator struct {
	fakeRotator
	mu      sync.Mutex
	creates map[string]map[string]int
}

func (c *countingRotator) Step(ctx context.Context, req StepRequest) error {
	if req.Step == store.StepCreate {
		c.mu.Lock()
		if c.creates[req.SecretARN] == nil {
			c.creates[req.SecretARN] = map[string]int{}
		}
		c.creates[req.SecretARN][req.Token]++
		c.mu.Unlock()
	}
	return c.fakeRotator.Step(ctx, req)
}

func TestSchedulersExactlyOnce(t *testing.T) {
	for _, backend := range []struct {
		name string
		open func(t *testing.T, n int) []testStore
	}{{"SQLite", sqliteFile}, {"PostgreSQL", pgSchema}} {
		t.Run(backend.name, func(t *testing.T) {
			stores := backend.open(t, 2)
			const n = 12
			var arns []string
			due := time.Now().UTC().Add(-time.Hour)
			for i := range n {
				arns = append(arns, mkSecret(t, stores[0], fmt.Sprintf("s%02d", i), "old", func(s *store.Secret) {
					s.RotationAfterDays = 7
					s.NextRotationAt = due.Add(time.Duration(i) * time.Second)
				}))
			}
			// One rotator shared by both servers, so it sees every run.
			rot := &countingRotator{fakeRotator: fakeRotator{v: &memValues{st: stores[0]}}, creates: map[string]map[string]int{}}
			ctx, cancel := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			var done sync.Mutex
			finished := 0
			all := make(chan struct{})
			for i, st := range stores {
				e, err := NewEngine(EngineConfig{Store: st, Secrets: &memValues{st: st}, Rotators: oneRotator{rot},
					Owner: fmt.Sprintf("server-%d", i), OnResult: func(r Result) {
						if r.Err != nil {
							t.Errorf("rotation failed: %+v", r)
						}
						done.Lock()
						finished++
						if finished == n {
							close(all)
						}
						done.Unlock()
					}})
				if err != nil {
					t.Fatal(err)
				}
				sch := &Scheduler{Engine: e, Store: st, Interval: 10 * time.Millisecond, Batch: 5}
				wg.Go(func() { sch.Run(ctx) })
			}
			select {
			case <-all:
			case <-time.After(60 * time.Second):
				t.Error("not every due secret was rotated within 60s")
			}
			// Let the schedulers scan a while longer: nothing may run again.
			time.Sleep(200 * time.Millisecond)
			cancel()
			wg.Wait()
			rot.mu.Lock()
			defer rot.mu.Unlock()
			for _, arn := range arns {
				if len(rot.creates[arn]) != 1 {
					t.Errorf("%s: %d rotations (%v), want exactly 1", arn, len(rot.creates[arn]), rot.creates[arn])
				}
				sec, err := stores[1].GetSecret(t.Context(), arn)
				if err != nil || sec.LastRotatedAt.IsZero() || !sec.NextRotationAt.After(time.Now().Add(6*24*time.Hour)) {
					t.Errorf("%s after rotation: last %v next %v (%v)", arn, sec.LastRotatedAt, sec.NextRotationAt, err)
				}
				if got := stagesOf(t, stores[1], arn); got["AWSPREVIOUS"] != "old" || got["AWSCURRENT"] == "old" {
					t.Errorf("%s stages = %v", arn, got)
				}
			}
		})
	}
}

// TestSchedulerResumesAbandonedLease: a server that took a rotation and
// died leaves a lease that expires; another server's scheduler resumes the
// rotation with the same token from the step it had reached.
func TestSchedulerResumesAbandonedLease(t *testing.T) {
	st := newStore(t)
	arn := mkSecret(t, st, "db", "old", nil)
	past := time.Now().UTC().Add(-time.Hour)
	if _, err := st.BeginRotation(t.Context(), arn, tok1, time.Time{}, past, store.Lease{Owner: "dead", Until: past.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	mv := &memValues{st: st}
	// The dead server had finished createSecret.
	if err := mv.PutValue(t.Context(), arn, tok1, []byte("value-11111111"), []string{store.StagePending}); err != nil {
		t.Fatal(err)
	}
	if err := st.AdvanceRotation(t.Context(), arn, tok1, store.StepCreate, store.StepSet, store.Lease{Owner: "dead", Until: past.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	rot := &fakeRotator{v: mv}
	e, res := newEngine(t, st, rot, nil)
	if err := (&Scheduler{Engine: e, Store: st}).Scan(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := res.next(t); r.Err != nil || r.Token != tok1 {
		t.Fatalf("resumed rotation: %+v", r)
	}
	if got := rot.Calls(); !slices.Equal(got, []string{"setSecret", "testSecret", "finishSecret"}) {
		t.Errorf("resumed at %v, want from setSecret", got)
	}
	if got := stagesOf(t, st, arn); got["AWSCURRENT"] != "value-11111111" || got["AWSPREVIOUS"] != "old" {
		t.Errorf("stages = %v", got)
	}
}
