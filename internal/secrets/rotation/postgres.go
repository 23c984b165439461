package rotation

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bulwark-security/bulwark/internal/store"
)

// Built-in rotators are selected by the function name of RotationLambdaARN
// (arn:aws:lambda:<region>:<account>:function:<name>); no webhook may be
// registered under these names.
const (
	// FunctionPostgresSingleUser rotates the password of the secret's own
	// user, as AWS's SecretsManagerRDSPostgreSQLRotationSingleUser.
	FunctionPostgresSingleUser = "bulwark-postgres-single-user"
	// FunctionPostgresAlternatingUsers alternates between the user and
	// "<user>_clone", changing the password of the one not in use, as AWS's
	// SecretsManagerRDSPostgreSQLRotationMultiUser; a superuser secret named
	// by "masterarn" creates the clone and sets passwords.
	FunctionPostgresAlternatingUsers = "bulwark-postgres-alternating-users"
)

// Values reads and writes secret values in-process, as the service itself
// (the built-in rotators are Bulwark's own, not a caller's).
type Values interface {
	// Value returns the SecretString of the version with versionID and/or
	// stage (either may be empty); store.ErrNotFound (wrapped) if there is
	// no such version or it has no value yet.
	Value(ctx context.Context, arn, versionID, stage string) ([]byte, error)
	// PutValue stores value as version versionID with the given labels
	// (the version may exist without a value, as PreparePending leaves it).
	PutValue(ctx context.Context, arn, versionID string, value []byte, stages []string) error
	// MoveStage moves label stage to version to from version from.
	MoveStage(ctx context.Context, arn, stage, to, from string) error
}

// Postgres is the built-in PostgreSQL rotator. The secret's value is the
// JSON AWS's RDS rotation templates use: engine, host, port, username,
// password, dbname, and for alternating users masterarn.
type Postgres struct {
	Values Values
	// Alternating selects the alternating-users strategy.
	Alternating bool
	// ConnectTimeout bounds each connection; zero means 10 seconds.
	ConnectTimeout time.Duration
	// PasswordLength is the generated password's length; zero means 32.
	PasswordLength int
	// SCRAMIterations for the verifier sent to the server; zero means 4096
	// (PostgreSQL's default).
	SCRAMIterations int
}

// pgSecret is the secret's JSON. Unknown fields are kept as they are.
type pgSecret struct {
	fields map[string]json.RawMessage

	Engine    string
	Host      string
	Port      int
	Username  string
	Password  string
	DBName    string
	MasterARN string
	SSLMode   string
}

func parsePGSecret(b []byte) (*pgSecret, error) {
	s := &pgSecret{}
	if err := json.Unmarshal(b, &s.fields); err != nil || s.fields == nil {
		return nil, errors.New("the secret value is not a JSON object")
	}
	str := func(k string) (string, error) {
		raw, ok := s.fields[k]
		if !ok {
			return "", nil
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", fmt.Errorf("field %q is not a string", k)
		}
		return v, nil
	}
	var err error
	get := func(k string, dst *string) {
		if err == nil {
			*dst, err = str(k)
		}
	}
	get("engine", &s.Engine)
	get("host", &s.Host)
	get("username", &s.Username)
	get("password", &s.Password)
	get("dbname", &s.DBName)
	get("masterarn", &s.MasterARN)
	get("sslmode", &s.SSLMode)
	if err != nil {
		return nil, err
	}
	s.Port = 5432
	if raw, ok := s.fields["port"]; ok {
		// AWS's templates accept the port as a number or a string.
		var n int
		if json.Unmarshal(raw, &n) != nil {
			var ps string
			if json.Unmarshal(raw, &ps) != nil {
				return nil, errors.New(`field "port" is not a number`)
			}
			if n, err = strconv.Atoi(ps); err != nil {
				return nil, errors.New(`field "port" is not a number`)
			}
		}
		s.Port = n
	}
	switch {
	case s.Engine != "" && s.Engine != "postgres":
		return nil, fmt.Errorf("engine is %q, want postgres", s.Engine)
	case s.Host == "" || s.Username == "":
		return nil, errors.New("host and username are required")
	case s.Port < 1 || s.Port > 65535:
		return nil, errors.New("port is out of range")
	case len(s.Username) > 63:
		return nil, errors.New("username is longer than 63 bytes")
	}
	return s, nil
}

func (s *pgSecret) with(username, password string) ([]byte, error) {
	out := make(map[string]json.RawMessage, len(s.fields)+2)
	for k, v := range s.fields {
		out[k] = v
	}
	u, _ := json.Marshal(username)
	p, _ := json.Marshal(password)
	out["username"], out["password"] = u, p
	return json.Marshal(out)
}

// Step implements Rotator.
func (p *Postgres) Step(ctx context.Context, req StepRequest) error {
	switch req.Step {
	case store.StepCreate:
		return p.create(ctx, req)
	case store.StepSet:
		return p.set(ctx, req)
	case store.StepTest:
		return p.test(ctx, req)
	case store.StepFinish:
		return p.finish(ctx, req)
	}
	return fmt.Errorf("unknown step %q", req.Step)
}

func (p *Postgres) read(ctx context.Context, arn, versionID, stage string) (*pgSecret, error) {
	b, err := p.Values.Value(ctx, arn, versionID, stage)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	return parsePGSecret(b)
}

func (p *Postgres) create(ctx context.Context, req StepRequest) error {
	cur, err := p.read(ctx, req.SecretARN, "", store.StageCurrent)
	if err != nil {
		return fmt.Errorf("read AWSCURRENT: %w", err)
	}
	if _, err := p.Values.Value(ctx, req.SecretARN, req.Token, store.StagePending); err == nil {
		return nil // already created by an earlier attempt
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("read AWSPENDING: %w", err)
	}
	user := cur.Username
	if p.Alternating {
		if base, ok := strings.CutSuffix(user, "_clone"); ok {
			user = base
		} else {
			user += "_clone"
		}
		if len(user) > 63 {
			return errors.New("the alternate username would be longer than 63 bytes")
		}
	}
	pw, err := randomPassword(p.PasswordLength)
	if err != nil {
		return err
	}
	val, err := cur.with(user, pw)
	if err != nil {
		return fmt.Errorf("encode the pending secret: %w", err)
	}
	defer clear(val)
	if err := p.Values.PutValue(ctx, req.SecretARN, req.Token, val, []string{store.StagePending}); err != nil {
		return fmt.Errorf("store AWSPENDING: %w", err)
	}
	return nil
}

func (p *Postgres) set(ctx context.Context, req StepRequest) error {
	pending, err := p.read(ctx, req.SecretARN, req.Token, store.StagePending)
	if err != nil {
		return fmt.Errorf("read AWSPENDING: %w", err)
	}
	cur, err := p.read(ctx, req.SecretARN, "", store.StageCurrent)
	if err != nil {
		return fmt.Errorf("read AWSCURRENT: %w", err)
	}
	if pending.Host != cur.Host || pending.Port != cur.Port || pending.DBName != cur.DBName {
		return errors.New("the pending secret names another database than the current one")
	}
	var admin *pgSecret
	if p.Alternating {
		if cur.MasterARN == "" {
			return errors.New(`the alternating-users strategy needs "masterarn" in the secret`)
		}
		if err := sameAccount(req.SecretARN, cur.MasterARN); err != nil {
			return err
		}
		if admin, err = p.read(ctx, cur.MasterARN, "", store.StageCurrent); err != nil {
			return fmt.Errorf("read the master secret: %w", err)
		}
		// The master's credentials only ever go to the master's own server:
		// whoever can edit this secret must not be able to point them
		// elsewhere.
		if admin.Host != cur.Host || admin.Port != cur.Port {
			return errors.New("the masterarn secret names another server than this secret")
		}
	} else {
		if pending.Username != cur.Username {
			return errors.New("the pending secret names another user than the current one")
		}
		// Log in with AWSCURRENT, or AWSPREVIOUS, or the pending password
		// itself (an earlier attempt set it), and set the pending password
		// again: setting it twice is harmless, so the step is idempotent.
		// (AWS's template returns early when the pending password logs in;
		// that test proves nothing on a server with trust authentication,
		// so Bulwark always sets it.)
		admin = nil
		var firstErr error
		for _, try := range []string{store.StageCurrent, store.StagePrevious, store.StagePending} {
			cand := cur
			if try != store.StageCurrent {
				id := ""
				if try == store.StagePending {
					id = req.Token
				}
				if cand, err = p.read(ctx, req.SecretARN, id, try); err != nil {
					continue
				}
				cand.Host, cand.Port, cand.DBName, cand.SSLMode = cur.Host, cur.Port, cur.DBName, cur.SSLMode
			}
			conn, err := p.connect(ctx, cand)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			conn.Close(ctx)
			admin = cand
			break
		}
		if admin == nil {
			return fmt.Errorf("log in with AWSCURRENT, AWSPREVIOUS or AWSPENDING: %w", firstErr)
		}
	}
	conn, err := p.connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("log in to change the password: %w", err)
	}
	defer conn.Close(ctx)
	verifier, err := scramVerifier(pending.Password, p.SCRAMIterations)
	if err != nil {
		return err
	}
	role := pgx.Identifier{pending.Username}.Sanitize()
	// The password is sent as a SCRAM verifier, never in clear, so the
	// server's statement log cannot record it. A verifier is base64 and $:
	// only; it is quoted as a literal all the same.
	lit := quoteLiteral(verifier)
	if p.Alternating {
		// The master acts for whoever can write this secret: it never
		// touches a role with powers beyond its own data (a superuser, or
		// one that can create roles, replicate or bypass row security), so
		// editing the username cannot take over such a role.
		var exists, powerful bool
		err := conn.QueryRow(ctx, `SELECT count(*) > 0, coalesce(bool_or(rolsuper OR rolcreaterole OR rolreplication OR rolbypassrls), false)
			FROM pg_roles WHERE rolname = $1`, pending.Username).Scan(&exists, &powerful)
		if err != nil {
			return fmt.Errorf("look up role: %w", err)
		}
		if powerful {
			return fmt.Errorf("refusing to set the password of %s: it is a superuser or can create roles, replicate or bypass row security", role)
		}
		if !exists {
			if _, err := conn.Exec(ctx, `CREATE ROLE `+role+` WITH LOGIN PASSWORD `+lit); err != nil {
				return fmt.Errorf("create role: %w", err)
			}
			// The clone gets the original user's privileges by membership,
			// as AWS's template grants them.
			if _, err := conn.Exec(ctx, `GRANT `+pgx.Identifier{cur.Username}.Sanitize()+` TO `+role); err != nil {
				return fmt.Errorf("grant the current user's role to the clone: %w", err)
			}
			return nil
		}
	}
	if _, err := conn.Exec(ctx, `ALTER ROLE `+role+` WITH PASSWORD `+lit); err != nil {
		return fmt.Errorf("alter role: %w", err)
	}
	return nil
}

func (p *Postgres) test(ctx context.Context, req StepRequest) error {
	pending, err := p.read(ctx, req.SecretARN, req.Token, store.StagePending)
	if err != nil {
		return fmt.Errorf("read AWSPENDING: %w", err)
	}
	conn, err := p.connect(ctx, pending)
	if err != nil {
		return fmt.Errorf("log in with the pending password: %w", err)
	}
	defer conn.Close(ctx)
	var now time.Time
	if err := conn.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
		return fmt.Errorf("query with the pending password: %w", err)
	}
	return nil
}

func (p *Postgres) finish(ctx context.Context, req StepRequest) error {
	return finishSecret(ctx, p.Values, req)
}

// finishSecret moves AWSCURRENT to the new version, as the templates'
// finishSecret step does (Secrets Manager gives the old one AWSPREVIOUS).
func finishSecret(ctx context.Context, v Values, req StepRequest) error {
	if err := v.MoveStage(ctx, req.SecretARN, store.StageCurrent, req.Token, ""); err != nil {
		return fmt.Errorf("move AWSCURRENT: %w", err)
	}
	return nil
}

// connect opens a connection from the secret's fields, never from a
// connection string, so no field can inject parameters.
func (p *Postgres) connect(ctx context.Context, s *pgSecret) (*pgx.Conn, error) {
	timeout := p.ConnectTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	mode := s.SSLMode
	switch mode {
	case "":
		mode = "prefer"
	case "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
	default:
		return nil, fmt.Errorf("sslmode %q is not supported", mode)
	}
	cfg, err := pgx.ParseConfig("sslmode=" + mode)
	if err != nil {
		return nil, fmt.Errorf("connection config: %w", err)
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Password = s.Host, uint16(s.Port), s.Username, s.Password
	cfg.Database = s.DBName
	if cfg.Database == "" {
		cfg.Database = "postgres"
	}
	cfg.ConnectTimeout = timeout
	cfg.RuntimeParams = map[string]string{"application_name": "bulwark-rotation"}
	for _, fb := range cfg.Fallbacks {
		fb.Host, fb.Port = s.Host, uint16(s.Port)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return conn, nil
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func sameAccount(a, b string) error {
	fa, fb := strings.Split(a, ":"), strings.Split(b, ":")
	if len(fa) < 6 || len(fb) < 6 || fa[1] != fb[1] || fa[4] != fb[4] || fb[2] != "secretsmanager" {
		return errors.New("masterarn must name a secret of the same account")
	}
	return nil
}

// Password characters: GetRandomPassword's, without those that break
// connection strings and shells as AWS's templates exclude them (/ @ " ' \)
// and without space.
const (
	pwUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	pwLower = "abcdefghijklmnopqrstuvwxyz"
	pwDigit = "0123456789"
	pwPunct = "!#$%&()*+,-.:;<=>?[]^_`{|}~"
)

// randomPassword draws a password with at least one character of each
// class, as GetRandomPassword's RequireEachIncludedType.
func randomPassword(n int) (string, error) {
	if n <= 0 {
		n = 32
	}
	classes := []string{pwUpper, pwLower, pwDigit, pwPunct}
	all := strings.Join(classes, "")
	pick := func(set string) (byte, error) {
		i, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return 0, err
		}
		return set[i.Int64()], nil
	}
	for {
		b := make([]byte, n)
		for i := range b {
			c, err := pick(all)
			if err != nil {
				return "", fmt.Errorf("random password: %w", err)
			}
			b[i] = c
		}
		ok := true
		for _, cl := range classes {
			if !strings.ContainsAny(string(b), cl) {
				ok = false
			}
		}
		if ok {
			return string(b), nil
		}
	}
}

// scramVerifier computes PostgreSQL's SCRAM-SHA-256 verifier of a password
// (RFC 5802/7677, as libpq's PQencryptPasswordConn):
// SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>.
func scramVerifier(password string, iterations int) (string, error) {
	if iterations <= 0 {
		iterations = 4096
	}
	salt := make([]byte, 16)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails
	return scramVerifierWithSalt(password, salt, iterations)
}

func scramVerifierWithSalt(password string, salt []byte, iterations int) (string, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("scram: %w", err)
	}
	defer clear(salted)
	hm := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := hm(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	serverKey := hm(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iterations, b64(salt), b64(stored[:]), b64(serverKey)), nil
}

// SCRAMMatches reports whether verifier (as pg_authid.rolpassword holds
// it) is the SCRAM-SHA-256 verifier of password; tests use it to prove a
// rotation set exactly the new password.
func SCRAMMatches(verifier, password string) bool {
	rest, ok := strings.CutPrefix(verifier, "SCRAM-SHA-256$")
	if !ok {
		return false
	}
	iterSalt, _, ok := strings.Cut(rest, "$")
	if !ok {
		return false
	}
	iterS, saltS, ok := strings.Cut(iterSalt, ":")
	if !ok {
		return false
	}
	iter, err := strconv.Atoi(iterS)
	if err != nil || iter < 1 || iter > 1<<20 {
		return false
	}
	salt, err := base64.StdEncoding.DecodeString(saltS)
	if err != nil {
		return false
	}
	want, err := scramVerifierWithSalt(password, salt, iter)
	return err == nil && hmac.Equal([]byte(want), []byte(verifier))
}
