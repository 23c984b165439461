package rotation

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bulwark-security/bulwark/internal/store"
)

// What these tests prove: the machine's PostgreSQL trusts every
// connection from 127.0.0.1, so logging in with a password proves nothing
// there. Each test therefore reads the role's SCRAM-SHA-256 verifier from
// pg_authid as the superuser and recomputes it from the password in the
// secret (SCRAMMatches): the rotation set exactly that password, and the
// old one no longer matches. testSecret's login runs too, but on this
// server only shows the role can log in.

func pgAdmin(t *testing.T) (*pgx.Conn, *url.URL) {
	t.Helper()
	dsn := pgDSN(t)
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return conn, u
}

func dropRoles(t *testing.T, conn *pgx.Conn, roles ...string) {
	t.Cleanup(func() {
		for _, r := range roles {
			conn.Exec(context.Background(), `DROP ROLE IF EXISTS `+pgx.Identifier{r}.Sanitize())
		}
	})
}

func verifier(t *testing.T, conn *pgx.Conn, role string) string {
	t.Helper()
	var v *string
	if err := conn.QueryRow(t.Context(), `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, role).Scan(&v); err != nil {
		t.Fatalf("read verifier of %s: %v", role, err)
	}
	if v == nil {
		return ""
	}
	return *v
}

func pgSecretJSON(t *testing.T, u *url.URL, user, password string, extra map[string]string) string {
	port, _ := strconv.Atoi(u.Port())
	m := map[string]any{"engine": "postgres", "host": u.Hostname(), "port": port, "username": user,
		"password": password, "dbname": strings.TrimPrefix(u.Path, "/"), "sslmode": "disable"}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type pgCreds struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Host     string `json:"host"`
}

func credsOf(t *testing.T, st testStore, arn, stage string) pgCreds {
	t.Helper()
	var c pgCreds
	if err := json.Unmarshal([]byte(stagesOf(t, st, arn)[stage]), &c); err != nil {
		t.Fatalf("%s of %s: %v", stage, arn, err)
	}
	return c
}

func rotateOnce(t *testing.T, e *Engine, res *results, arn string) {
	t.Helper()
	if err := e.Begin(t.Context(), arn, newToken(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if r := res.next(t); r.Err != nil {
		t.Fatalf("rotation failed in %s: %v", r.Step, r.Err)
	}
}

func builtinEngine(t *testing.T, st testStore) (*Engine, *results) {
	mv := &memValues{st: st}
	res := newResults()
	e, err := NewEngine(EngineConfig{Store: st, Secrets: mv, Rotators: &Registry{Values: mv}, OnResult: res.add, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Wait)
	return e, res
}

func TestPostgresSingleUser(t *testing.T) {
	admin, u := pgAdmin(t)
	role := "bulwark_rot_" + strings.ToLower(rand.Text()[:10])
	dropRoles(t, admin, role)
	if _, err := admin.Exec(t.Context(), `CREATE ROLE `+pgx.Identifier{role}.Sanitize()+` LOGIN PASSWORD 'initial-pw'`); err != nil {
		t.Fatal(err)
	}
	st := newStore(t)
	arn := mkSecret(t, st, "db", pgSecretJSON(t, u, role, "initial-pw", nil), func(s *store.Secret) {
		s.RotationLambdaARN = "arn:aws:lambda:us-east-1:" + acct + ":function:" + FunctionPostgresSingleUser
	})
	e, res := builtinEngine(t, st)
	if !SCRAMMatches(verifier(t, admin, role), "initial-pw") {
		t.Fatal("the initial verifier does not match the initial password: SCRAMMatches is wrong")
	}
	prev := "initial-pw"
	for i := range 2 {
		rotateOnce(t, e, res, arn)
		cur, old := credsOf(t, st, arn, "AWSCURRENT"), credsOf(t, st, arn, "AWSPREVIOUS")
		if cur.Username != role || old.Password != prev || cur.Password == prev {
			t.Fatalf("rotation %d: AWSCURRENT %s, AWSPREVIOUS password %q", i, cur.Username, old.Password)
		}
		if len(cur.Password) != 32 || strings.ContainsAny(cur.Password, `/@"'\ `) {
			t.Errorf("generated password %q has excluded characters or the wrong length", cur.Password)
		}
		v := verifier(t, admin, role)
		if !SCRAMMatches(v, cur.Password) {
			t.Errorf("rotation %d: pg_authid does not hold the verifier of the new password", i)
		}
		if SCRAMMatches(v, prev) {
			t.Errorf("rotation %d: the old password still matches", i)
		}
		prev = cur.Password
	}
}

func TestPostgresAlternatingUsers(t *testing.T) {
	admin, u := pgAdmin(t)
	user := "bulwark_app_" + strings.ToLower(rand.Text()[:10])
	clone := user + "_clone"
	dropRoles(t, admin, clone, user)
	if _, err := admin.Exec(t.Context(), `CREATE ROLE `+pgx.Identifier{user}.Sanitize()+` LOGIN PASSWORD 'user-pw'`); err != nil {
		t.Fatal(err)
	}
	st := newStore(t)
	master := mkSecret(t, st, "master", pgSecretJSON(t, u, u.User.Username(), "superuser-pw", nil), func(s *store.Secret) {
		s.RotationEnabled, s.RotationLambdaARN = false, ""
	})
	arn := mkSecret(t, st, "app", pgSecretJSON(t, u, user, "user-pw", map[string]string{"masterarn": master}), func(s *store.Secret) {
		s.RotationLambdaARN = "arn:aws:lambda:us-east-1:" + acct + ":function:" + FunctionPostgresAlternatingUsers
	})
	e, res := builtinEngine(t, st)

	rotateOnce(t, e, res, arn)
	cur := credsOf(t, st, arn, "AWSCURRENT")
	if cur.Username != clone || !SCRAMMatches(verifier(t, admin, clone), cur.Password) {
		t.Fatalf("first rotation: AWSCURRENT user %s; the clone's verifier must match its password", cur.Username)
	}
	if !SCRAMMatches(verifier(t, admin, user), "user-pw") {
		t.Error("first rotation changed the original user's password; it must stay valid as AWSPREVIOUS")
	}
	var member bool
	if err := admin.QueryRow(t.Context(), `SELECT pg_has_role($1, $2, 'MEMBER')`, clone, user).Scan(&member); err != nil || !member {
		t.Errorf("the clone is not a member of %s: %v %v", user, member, err)
	}

	rotateOnce(t, e, res, arn)
	cur2, prev := credsOf(t, st, arn, "AWSCURRENT"), credsOf(t, st, arn, "AWSPREVIOUS")
	if cur2.Username != user || prev.Username != clone {
		t.Fatalf("second rotation: AWSCURRENT %s, AWSPREVIOUS %s", cur2.Username, prev.Username)
	}
	if !SCRAMMatches(verifier(t, admin, user), cur2.Password) || !SCRAMMatches(verifier(t, admin, clone), cur.Password) {
		t.Error("after the second rotation both users must hold their secret's password")
	}

	// A secret whose username names a powerful role is refused, and the
	// role is left alone.
	su := mkSecret(t, st, "evil", pgSecretJSON(t, u, u.User.Username()+"_clone", "x", map[string]string{"masterarn": master}), func(s *store.Secret) {
		s.RotationLambdaARN = "arn:aws:lambda:us-east-1:" + acct + ":function:" + FunctionPostgresAlternatingUsers
	})
	before := verifier(t, admin, u.User.Username())
	if err := e.Begin(t.Context(), su, newToken(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if r := res.next(t); r.Err == nil || r.Step != store.StepSet || !strings.Contains(r.Err.Error(), "refusing") {
		t.Errorf("rotating onto the superuser: %+v, want setSecret refused", r)
	}
	if verifier(t, admin, u.User.Username()) != before {
		t.Error("the superuser's password changed")
	}

	// A secret pointing elsewhere never receives the master's credentials.
	other := *u
	other.Host = "127.0.0.2:" + u.Port()
	away := mkSecret(t, st, "away", pgSecretJSON(t, &other, user, "user-pw", map[string]string{"masterarn": master}), func(s *store.Secret) {
		s.RotationLambdaARN = "arn:aws:lambda:us-east-1:" + acct + ":function:" + FunctionPostgresAlternatingUsers
	})
	if err := e.Begin(t.Context(), away, newToken(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if r := res.next(t); r.Err == nil || !strings.Contains(r.Err.Error(), "another server") {
		t.Errorf("master secret for another server: %+v", r)
	}
}

// TestSCRAMVerifier checks the round trip and the refusals; agreement with
// PostgreSQL's own verifiers is checked against the server in
// TestPostgresSingleUser (the verifier of a password the server hashed).
func TestSCRAMVerifier(t *testing.T) {
	v, err := scramVerifier("pencil", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v, "SCRAM-SHA-256$4096:") || !SCRAMMatches(v, "pencil") {
		t.Errorf("verifier %q does not match its password", v)
	}
	if SCRAMMatches(v, "pencil2") || SCRAMMatches("md5abc", "pencil") || SCRAMMatches("SCRAM-SHA-256$x:y$z", "pencil") ||
		SCRAMMatches("SCRAM-SHA-256$99999999:AAAA$x:y", "pencil") {
		t.Error("wrong password or malformed verifier matches")
	}
}

func TestRandomPassword(t *testing.T) {
	for range 200 {
		p, err := randomPassword(0)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != 32 || strings.ContainsAny(p, `/@"'\ `) || !strings.ContainsAny(p, pwUpper) ||
			!strings.ContainsAny(p, pwLower) || !strings.ContainsAny(p, pwDigit) || !strings.ContainsAny(p, pwPunct) {
			t.Fatalf("password %q breaks the rules", p)
		}
	}
}

func FuzzParsePGSecret(f *testing.F) {
	f.Add(`{"engine":"postgres","host":"db","port":5432,"username":"app","password":"pw","dbname":"d"}`)
	f.Add(`{"host":"db","port":"6543","username":"app","masterarn":"arn:aws:secretsmanager:us-east-1:123456789012:secret:m"}`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePGSecret([]byte(s))
		if err != nil {
			return
		}
		if p.Host == "" || p.Username == "" || p.Port < 1 || p.Port > 65535 {
			t.Fatalf("accepted %+v", p)
		}
		b, err := p.with(p.Username, "new")
		if err != nil {
			t.Fatal(err)
		}
		q, err := parsePGSecret(b)
		if err != nil || q.Password != "new" || q.Host != p.Host || q.Port != p.Port {
			t.Fatalf("round trip: %+v, %v", q, err)
		}
	})
}
