package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// postgresDSN returns a DSN for a fresh schema on the test PostgreSQL and
// drops the schema when the test ends. It skips when PostgreSQL is not
// running, except in CI, which has it.
func postgresDSN(t *testing.T) string {
	t.Helper()
	base := os.Getenv("BULWARK_TEST_POSTGRES_DSN")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) && os.Getenv("CI") == "" {
			t.Skipf("PostgreSQL is not running at %s: %v", base, err)
		}
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	conn.Close(ctx)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "bulwark_e2e_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			_, _ = c.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

// TestPostgresManyServers: two servers on one PostgreSQL database serve the
// same account and credentials, and a policy change made through one takes
// effect on the other.
func TestPostgresManyServers(t *testing.T) {
	dsn := postgresDSN(t)
	env := []string{"BULWARK_ROOT_KEY=" + randomRootKey()}
	a := startServer(t, env, "--store", dsn)
	b := startServer(t, env, "--store", dsn)

	checkCLIIdentity(t, a, "111122223333")
	// Server b wrote the same root credential into its own data directory.
	akA, secA := rootCredentials(t, a.DataDir)
	akB, secB := rootCredentials(t, b.DataDir)
	if akA != akB || secA != secB {
		t.Fatal("the two servers bootstrapped different root credentials")
	}
	checkCLIIdentity(t, b, "111122223333")

	rootA := rootCLI(t, a)
	user := newUser(rootA, "svc", allow(`"iam:ListUsers"`, "*"))
	onB := &cli{t: t, s: b, env: user.env}
	onB.ok(nil, "iam", "list-users")
	rootA.ok(nil, "iam", "delete-user-policy", "--user-name", "svc", "--policy-name", "svc-inline")
	time.Sleep(300 * time.Millisecond) // b re-reads the IAM generation at most every 100 ms
	onB.fails("AccessDenied", nil, "iam", "list-users")

	// A server with another root key refuses the shared database.
	_, err := tryStartServer(t, []string{"BULWARK_ROOT_KEY=" + randomRootKey()}, "--store", dsn)
	if err == nil || !strings.Contains(err.Error(), "same root key") {
		t.Fatalf("server with a different root key: %v", err)
	}
}
