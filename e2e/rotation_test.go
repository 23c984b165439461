package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/jackc/pgx/v5"

	"github.com/bulwark-security/bulwark/internal/secrets/rotation"
	"github.com/bulwark-security/bulwark/rotationhook"
)

// rotationCall calls Bulwark's rotation webhook registry (service
// bulwark-rotation, JSON 1.1), signed with SigV4 by aws-sdk-go-v2's signer
// as curl --aws-sigv4 would sign it.
func rotationCall(t *testing.T, s *server, akid, secret, action string, in, out any) (int, string) {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, s.Endpoint+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "BulwarkRotation."+action)
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "bulwark-rotation", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: decode %s: %v", action, b, err)
		}
	}
	return resp.StatusCode, string(b)
}

// webhookEndpoint is a rotation webhook written as AWS's rotation Lambda
// template is: it performs each step by calling Secrets Manager with its
// own credentials through aws-sdk-go-v2.
type webhookEndpoint struct {
	srv   *httptest.Server
	key   atomic.Pointer[[]byte]
	c     *sm.Client
	mu    sync.Mutex
	steps map[string][]string // token -> steps received
	// failStep makes the endpoint fail that step (for every token).
	failStep atomic.Pointer[string]
	// database is what setSecret "sets": the password a database would hold.
	database sync.Map
}

func newWebhookEndpoint(t *testing.T, s *server, akid, secret string) *webhookEndpoint {
	w := &webhookEndpoint{steps: map[string][]string{},
		c: sm.New(sm.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint),
			Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""), RetryMaxAttempts: 1})}
	w.srv = httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		key := w.key.Load()
		if key == nil {
			http.Error(rw, "not registered yet", http.StatusServiceUnavailable)
			return
		}
		rotationhook.Handler(*key, w.step).ServeHTTP(rw, r)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhookEndpoint) caPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.srv.Certificate().Raw}))
}

func (w *webhookEndpoint) stepsOf(token string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.steps[token])
}

func isNotFound(err error) bool {
	var nf *smtypes.ResourceNotFoundException
	return errors.As(err, &nf)
}

func (w *webhookEndpoint) step(ctx context.Context, ev rotationhook.Event) error {
	w.mu.Lock()
	w.steps[ev.ClientRequestToken] = append(w.steps[ev.ClientRequestToken], ev.Step)
	w.mu.Unlock()
	if f := w.failStep.Load(); f != nil && *f == ev.Step {
		return fmt.Errorf("%s fails on purpose", ev.Step)
	}
	arn, token := aws.String(ev.SecretID), aws.String(ev.ClientRequestToken)
	desc, err := w.c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: arn})
	if err != nil {
		return err
	}
	if desc.RotationEnabled == nil || !*desc.RotationEnabled {
		return errors.New("rotation is not enabled")
	}
	// The pre-checks of AWS's rotation function templates, unchanged: the
	// token must already be a version of the secret, labelled AWSPENDING.
	stages, ok := desc.VersionIdsToStages[ev.ClientRequestToken]
	if !ok {
		return fmt.Errorf("secret version %s has no stage for rotation of secret %s", ev.ClientRequestToken, ev.SecretID)
	}
	if slices.Contains(stages, "AWSCURRENT") {
		return nil // already rotated
	}
	if !slices.Contains(stages, "AWSPENDING") {
		return fmt.Errorf("secret version %s not set as AWSPENDING for rotation of secret %s", ev.ClientRequestToken, ev.SecretID)
	}
	switch ev.Step {
	case rotationhook.StepCreate:
		cur, err := w.c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: arn, VersionStage: aws.String("AWSCURRENT")})
		if err != nil {
			return err
		}
		_, err = w.c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: arn, VersionId: token, VersionStage: aws.String("AWSPENDING")})
		if err == nil || !isNotFound(err) {
			return err
		}
		var creds map[string]string
		if err := json.Unmarshal([]byte(*cur.SecretString), &creds); err != nil {
			return err
		}
		pw, err := w.c.GetRandomPassword(ctx, &sm.GetRandomPasswordInput{ExcludeCharacters: aws.String(`/@"'\`)})
		if err != nil {
			return err
		}
		creds["password"] = *pw.RandomPassword
		b, _ := json.Marshal(creds)
		_, err = w.c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: arn, ClientRequestToken: token,
			SecretString: aws.String(string(b)), VersionStages: []string{"AWSPENDING"}})
		return err
	case rotationhook.StepSet, rotationhook.StepTest:
		p, err := w.c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: arn, VersionId: token, VersionStage: aws.String("AWSPENDING")})
		if err != nil {
			return err
		}
		if ev.Step == rotationhook.StepSet {
			w.database.Store(ev.SecretID, *p.SecretString)
		} else if v, _ := w.database.Load(ev.SecretID); v != *p.SecretString {
			return errors.New("the database does not hold the pending password")
		}
		return nil
	case rotationhook.StepFinish:
		var current string
		for id, st := range desc.VersionIdsToStages {
			if slices.Contains(st, "AWSCURRENT") {
				current = id
			}
		}
		_, err := w.c.UpdateSecretVersionStage(ctx, &sm.UpdateSecretVersionStageInput{SecretId: arn, VersionStage: aws.String("AWSCURRENT"),
			MoveToVersionId: token, RemoveFromVersionId: aws.String(current)})
		return err
	}
	return fmt.Errorf("unknown step %s", ev.Step)
}

type rotationStatus struct {
	RotationInProgress bool
	ClientRequestToken string
	Step               string
	Attempts           int
	LastFailure        *struct{ Message, Step string }
}

// waitFor polls cond every 100ms for up to 30s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type rotateOut struct {
	ARN, Name string
	VersionID string `json:"VersionId"`
}

type describeOut struct {
	RotationEnabled    *bool
	RotationLambdaARN  string
	RotationRules      map[string]any
	LastRotatedDate    *float64
	NextRotationDate   *float64
	VersionIdsToStages map[string][]string
}

// TestSecretRotationWebhook rotates secrets through a loopback HTTPS
// webhook with the aws CLI: a working endpoint, a failing one, and the
// API's errors.
func TestSecretRotationWebhook(t *testing.T) {
	t.Parallel()
	s := startServer(t, []string{"BULWARK_ROOT_KEY=" + randomRootKey()})
	root := rootCLI(t, s)
	akid, secret := rootCredentials(t, s.DataDir)
	// The CLI makes the calls under test; polling and the error table use
	// the SDK, which starts in microseconds instead of a second.
	sdk := sm.New(sm.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, ""), RetryMaxAttempts: 1})
	currentVersion := func(id string) string {
		out, err := sdk.GetSecretValue(context.Background(), &sm.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetSecretValue(%s): %v", id, err)
		}
		return *out.VersionId
	}

	var created rotateOut
	root.ok(&created, "secretsmanager", "create-secret", "--name", "app/db", "--secret-string", `{"username":"app","password":"initial"}`)
	acct := strings.Split(created.ARN, ":")[4]
	fn := "arn:aws:lambda:us-east-1:" + acct + ":function:app-rotator"

	// The endpoint acts with its own user, allowed only what a rotation
	// Lambda's role needs on these secrets.
	ep := newWebhookEndpoint(t, s, "", "")
	var k accessKeyOut
	root.ok(nil, "iam", "create-user", "--user-name", "rotator")
	root.ok(nil, "iam", "put-user-policy", "--user-name", "rotator", "--policy-name", "rotate", "--policy-document",
		allow(`["secretsmanager:DescribeSecret","secretsmanager:GetSecretValue","secretsmanager:PutSecretValue","secretsmanager:UpdateSecretVersionStage","secretsmanager:GetRandomPassword"]`, "*"))
	root.ok(&k, "iam", "create-access-key", "--user-name", "rotator")
	ep.c = sm.New(sm.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(k.AccessKey.AccessKeyID, k.AccessKey.SecretAccessKey, ""), RetryMaxAttempts: 1})

	// Register the webhook; the signing key is returned once.
	var reg struct{ FunctionArn, Url, SigningKey string }
	if code, body := rotationCall(t, s, akid, secret, "PutRotationWebhook",
		map[string]string{"FunctionArn": fn, "Url": ep.srv.URL + "/rotate", "CACertificates": ep.caPEM()}, &reg); code != 200 {
		t.Fatalf("PutRotationWebhook: %d %s", code, body)
	}
	key, err := base64.StdEncoding.DecodeString(reg.SigningKey)
	if err != nil || len(key) != 32 {
		t.Fatalf("signing key %q: %v", reg.SigningKey, err)
	}
	ep.key.Store(&key)
	var got struct{ SigningKey, Url string }
	rotationCall(t, s, akid, secret, "GetRotationWebhook", map[string]string{"FunctionArn": fn}, &got)
	if got.SigningKey != "" || got.Url != ep.srv.URL+"/rotate" {
		t.Fatalf("GetRotationWebhook = %+v: the key must never be returned again", got)
	}
	// A user without bulwark-rotation permissions may not register one.
	if code, body := rotationCall(t, s, k.AccessKey.AccessKeyID, k.AccessKey.SecretAccessKey, "PutRotationWebhook",
		map[string]string{"FunctionArn": fn, "Url": "https://evil.example/"}, nil); code != 400 || !strings.Contains(body, "AccessDeniedException") {
		t.Fatalf("PutRotationWebhook by the rotator user: %d %s", code, body)
	}

	t.Run("rotates", func(t *testing.T) {
		var rot rotateOut
		root.ok(&rot, "secretsmanager", "rotate-secret", "--secret-id", "app/db", "--rotation-lambda-arn", fn,
			"--rotation-rules", "AutomaticallyAfterDays=30")
		if rot.ARN != created.ARN || rot.Name != "app/db" || len(rot.VersionID) != 36 {
			t.Fatalf("rotate-secret = %+v", rot)
		}
		waitFor(t, "the new version to become AWSCURRENT", func() bool { return currentVersion("app/db") == rot.VersionID })
		var cur secretValueOut
		root.ok(&cur, "secretsmanager", "get-secret-value", "--secret-id", "app/db")
		var creds map[string]string
		if err := json.Unmarshal([]byte(cur.SecretString), &creds); err != nil || creds["username"] != "app" ||
			creds["password"] == "initial" || len(creds["password"]) != 32 {
			t.Fatalf("AWSCURRENT after rotation: %q", cur.SecretString)
		}
		var prev secretValueOut
		root.ok(&prev, "secretsmanager", "get-secret-value", "--secret-id", "app/db", "--version-stage", "AWSPREVIOUS")
		if prev.VersionID != created.VersionID || !strings.Contains(prev.SecretString, `"initial"`) {
			t.Fatalf("AWSPREVIOUS = %+v, want the first version", prev)
		}
		if steps := ep.stepsOf(rot.VersionID); !slices.Equal(steps, []string{"createSecret", "setSecret", "testSecret", "finishSecret"}) {
			t.Errorf("the endpoint received %v", steps)
		}
		waitFor(t, "LastRotatedDate", func() bool {
			out, err := sdk.DescribeSecret(context.Background(), &sm.DescribeSecretInput{SecretId: aws.String("app/db")})
			return err == nil && out.LastRotatedDate != nil
		})
		var d describeOut
		root.ok(&d, "secretsmanager", "describe-secret", "--secret-id", "app/db")
		if d.RotationEnabled == nil || !*d.RotationEnabled || d.RotationLambdaARN != fn || d.RotationRules["AutomaticallyAfterDays"] != 30.0 {
			t.Errorf("describe-secret rotation config: %+v", d)
		}
		next := time.Unix(int64(*d.NextRotationDate), 0)
		if want := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 30); !next.Equal(want) {
			t.Errorf("NextRotationDate = %v, want %v", next, want)
		}
		if st := d.VersionIdsToStages[rot.VersionID]; !slices.Equal(st, []string{"AWSCURRENT"}) {
			t.Errorf("new version's labels = %v, want only AWSCURRENT", st)
		}
		// The same ClientRequestToken again changes nothing.
		var again rotateOut
		root.ok(&again, "secretsmanager", "rotate-secret", "--secret-id", "app/db", "--client-request-token", rot.VersionID)
		time.Sleep(300 * time.Millisecond)
		if v := currentVersion("app/db"); again.VersionID != rot.VersionID || v != rot.VersionID || len(ep.stepsOf(rot.VersionID)) != 4 {
			t.Errorf("repeated rotate-secret: %+v, AWSCURRENT %s, steps %v", again, v, ep.stepsOf(rot.VersionID))
		}
	})

	t.Run("failing webhook leaves AWSCURRENT", func(t *testing.T) {
		var c2 rotateOut
		root.ok(&c2, "secretsmanager", "create-secret", "--name", "app/db2", "--secret-string", `{"username":"app2","password":"initial2"}`)
		fail := "testSecret"
		ep.failStep.Store(&fail)
		defer ep.failStep.Store(nil)
		var rot rotateOut
		root.ok(&rot, "secretsmanager", "rotate-secret", "--secret-id", "app/db2", "--rotation-lambda-arn", fn,
			"--rotation-rules", `{"ScheduleExpression":"cron(0 16 ? * MON *)","Duration":"2h"}`)
		var st rotationStatus
		waitFor(t, "the failure to be recorded", func() bool {
			rotationCall(t, s, akid, secret, "DescribeSecretRotation", map[string]string{"SecretId": "app/db2"}, &st)
			return st.LastFailure != nil
		})
		if !st.RotationInProgress || st.ClientRequestToken != rot.VersionID || st.Step != "testSecret" ||
			st.LastFailure.Step != "testSecret" || !strings.Contains(st.LastFailure.Message, "500") {
			t.Errorf("rotation status = %+v", st)
		}
		var cur secretValueOut
		root.ok(&cur, "secretsmanager", "get-secret-value", "--secret-id", "app/db2")
		if cur.VersionID != c2.VersionID || !strings.Contains(cur.SecretString, "initial2") {
			t.Fatalf("AWSCURRENT after a failed rotation = %+v", cur)
		}
		// setSecret ran (3 times, the webhook client's retries included) but
		// finishSecret never did.
		if steps := ep.stepsOf(rot.VersionID); slices.Contains(steps, "finishSecret") || steps[0] != "createSecret" {
			t.Errorf("steps of the failing rotation: %v", steps)
		}
		root.fails("InvalidRequestException", []string{"A previous rotation isn't complete"},
			"secretsmanager", "rotate-secret", "--secret-id", "app/db2")
		var cancel rotateOut
		root.ok(&cancel, "secretsmanager", "cancel-rotate-secret", "--secret-id", "app/db2")
		if cancel.VersionID != rot.VersionID {
			t.Errorf("cancel-rotate-secret = %+v, want the in-progress version %s", cancel, rot.VersionID)
		}
		var d describeOut
		root.ok(&d, "secretsmanager", "describe-secret", "--secret-id", "app/db2")
		if d.RotationEnabled != nil && *d.RotationEnabled || d.NextRotationDate != nil {
			t.Errorf("after cancel-rotate-secret: %+v", d)
		}
		// After the cancel, with the endpoint fixed, a new rotation works.
		ep.failStep.Store(nil)
		var rot2 rotateOut
		root.ok(&rot2, "secretsmanager", "rotate-secret", "--secret-id", "app/db2")
		waitFor(t, "the second rotation", func() bool { return currentVersion("app/db2") == rot2.VersionID })
	})

	t.Run("errors", func(t *testing.T) {
		root.fails("ResourceNotFoundException", nil, "secretsmanager", "rotate-secret", "--secret-id", "nope", "--rotation-lambda-arn", fn)
		root.fails("InvalidParameterException", []string{"AutomaticallyAfterDays"}, "secretsmanager", "rotate-secret", "--secret-id", "app/db",
			"--rotation-rules", "AutomaticallyAfterDays=1001")
		if _, err := sdk.CreateSecret(context.Background(), &sm.CreateSecretInput{Name: aws.String("app/none"), SecretString: aws.String("x")}); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name string
			in   sm.RotateSecretInput
			code string
			msg  string
		}{
			{"no function", sm.RotateSecretInput{SecretId: aws.String("app/none")}, "InvalidRequestException", "No Lambda rotation function"},
			{"unregistered function", sm.RotateSecretInput{SecretId: aws.String("app/none"),
				RotationLambdaARN: aws.String("arn:aws:lambda:us-east-1:" + acct + ":function:unregistered")}, "InvalidRequestException", "can't find a rotator"},
			{"cron with minutes", sm.RotateSecretInput{SecretId: aws.String("app/db"),
				RotationRules: &smtypes.RotationRulesType{ScheduleExpression: aws.String("cron(30 16 * * ? *)")}}, "InvalidParameterException", "Minutes must be 0"},
			{"both rules", sm.RotateSecretInput{SecretId: aws.String("app/db"),
				RotationRules: &smtypes.RotationRulesType{AutomaticallyAfterDays: aws.Int64(3), ScheduleExpression: aws.String("rate(3 days)")}}, "InvalidParameterException", "both"},
			{"window into the next day", sm.RotateSecretInput{SecretId: aws.String("app/db"),
				RotationRules: &smtypes.RotationRulesType{ScheduleExpression: aws.String("cron(0 22 * * ? *)"), Duration: aws.String("4h")}}, "InvalidParameterException", "next UTC day"},
			{"not a function ARN", sm.RotateSecretInput{SecretId: aws.String("app/db"), RotationLambdaARN: aws.String("not-an-arn")}, "InvalidParameterException", "RotationLambdaARN"},
			{"short token", sm.RotateSecretInput{SecretId: aws.String("app/db"), ClientRequestToken: aws.String("short")}, "InvalidParameterException", "ClientRequestToken"},
		} {
			_, err := sdk.RotateSecret(context.Background(), &tt.in)
			var ae interface {
				ErrorCode() string
				ErrorMessage() string
			}
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.code || !strings.Contains(ae.ErrorMessage(), tt.msg) {
				t.Errorf("%s: %v, want %s containing %q", tt.name, err, tt.code, tt.msg)
			}
		}
		// RotateImmediately=false only schedules: no version, the next
		// window from the rules.
		sched, err := sdk.RotateSecret(context.Background(), &sm.RotateSecretInput{SecretId: aws.String("app/none"),
			RotationLambdaARN: aws.String(fn), RotateImmediately: aws.Bool(false),
			RotationRules: &smtypes.RotationRulesType{ScheduleExpression: aws.String("rate(5 days)")}})
		if err != nil || sched.VersionId != nil {
			t.Fatalf("RotateSecret(RotateImmediately=false) = %+v, %v", sched, err)
		}
		desc, err := sdk.DescribeSecret(context.Background(), &sm.DescribeSecretInput{SecretId: aws.String("app/none")})
		if err != nil || desc.NextRotationDate == nil || len(desc.VersionIdsToStages) != 1 || desc.RotationEnabled == nil || !*desc.RotationEnabled {
			t.Fatalf("DescribeSecret after scheduling: %+v, %v", desc, err)
		}
		if want := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 5); !desc.NextRotationDate.Equal(want) {
			t.Errorf("NextRotationDate = %v, want %v", desc.NextRotationDate, want)
		}
		if _, err := sdk.CancelRotateSecret(context.Background(), &sm.CancelRotateSecretInput{SecretId: aws.String("nope")}); !isNotFound(err) {
			t.Errorf("CancelRotateSecret(missing) = %v", err)
		}
		// The endpoint refuses a call not signed with its key: Bulwark's
		// signature is what it trusts.
		resp, err := ep.srv.Client().Post(ep.srv.URL+"/rotate", "application/json",
			strings.NewReader(`{"SecretId":"`+created.ARN+`","ClientRequestToken":"x","Step":"finishSecret"}`))
		if err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("unsigned call to the endpoint: %v %v", resp.Status, err)
		}
	})
}

// TestSecretRotationPostgres rotates a real PostgreSQL role's password with
// the built-in single-user rotator through the aws CLI. The machine's
// PostgreSQL trusts loopback connections, so the test proves the new
// password by recomputing the role's SCRAM verifier from pg_authid.
func TestSecretRotationPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t)
	admin, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	role := "bulwark_e2e_rot_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	if _, err := admin.Exec(t.Context(), `CREATE ROLE `+pgx.Identifier{role}.Sanitize()+` LOGIN PASSWORD 'initial-pw'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec(context.Background(), `DROP ROLE IF EXISTS `+pgx.Identifier{role}.Sanitize()) })
	u, _ := url.Parse(dsn)

	s := startServer(t, []string{"BULWARK_ROOT_KEY=" + randomRootKey()})
	root := rootCLI(t, s)
	value, _ := json.Marshal(map[string]any{"engine": "postgres", "host": u.Hostname(), "port": 5432, "username": role,
		"password": "initial-pw", "dbname": strings.TrimPrefix(u.Path, "/"), "sslmode": "disable"})
	var created rotateOut
	root.ok(&created, "secretsmanager", "create-secret", "--name", "pg/app", "--secret-string", string(value))
	acct := strings.Split(created.ARN, ":")[4]
	var rot rotateOut
	root.ok(&rot, "secretsmanager", "rotate-secret", "--secret-id", "pg/app", "--rotation-lambda-arn",
		"arn:aws:lambda:us-east-1:"+acct+":function:"+rotation.FunctionPostgresSingleUser,
		"--rotation-rules", `{"ScheduleExpression":"rate(10 days)"}`)
	var cur secretValueOut
	waitFor(t, "the PostgreSQL rotation", func() bool {
		root.ok(&cur, "secretsmanager", "get-secret-value", "--secret-id", "pg/app")
		return cur.VersionID == rot.VersionID
	})
	var creds struct{ Username, Password string }
	if err := json.Unmarshal([]byte(cur.SecretString), &creds); err != nil || creds.Username != role || creds.Password == "initial-pw" {
		t.Fatalf("AWSCURRENT after rotation: %v %v", creds.Username, err)
	}
	var verifier string
	if err := admin.QueryRow(t.Context(), `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, role).Scan(&verifier); err != nil {
		t.Fatal(err)
	}
	if !rotation.SCRAMMatches(verifier, creds.Password) || rotation.SCRAMMatches(verifier, "initial-pw") {
		t.Fatal("the role's SCRAM verifier is not the new password's")
	}
	var prev secretValueOut
	root.ok(&prev, "secretsmanager", "get-secret-value", "--secret-id", "pg/app", "--version-stage", "AWSPREVIOUS")
	if !strings.Contains(prev.SecretString, "initial-pw") {
		t.Fatal("AWSPREVIOUS is not the old password")
	}
	// The new credentials log in (on this server: the role can log in).
	cfg, _ := pgx.ParseConfig(dsn)
	cfg.User, cfg.Password = creds.Username, creds.Password
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("log in with the rotated password: %v", err)
	}
	conn.Close(context.Background())

	// Alternating users: the superuser secret named by masterarn creates
	// <user>_clone with a new password; AWSCURRENT becomes the clone and
	// the original user keeps working as AWSPREVIOUS.
	user := role + "_alt"
	clone := user + "_clone"
	if _, err := admin.Exec(t.Context(), `CREATE ROLE `+pgx.Identifier{user}.Sanitize()+` LOGIN PASSWORD 'user-pw'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(context.Background(), `DROP ROLE IF EXISTS `+pgx.Identifier{clone}.Sanitize())
		admin.Exec(context.Background(), `DROP ROLE IF EXISTS `+pgx.Identifier{user}.Sanitize())
	})
	masterValue, _ := json.Marshal(map[string]any{"engine": "postgres", "host": u.Hostname(), "port": 5432, "username": u.User.Username(),
		"password": "unused-with-trust", "dbname": strings.TrimPrefix(u.Path, "/"), "sslmode": "disable"})
	var master rotateOut
	root.ok(&master, "secretsmanager", "create-secret", "--name", "pg/master", "--secret-string", string(masterValue))
	appValue, _ := json.Marshal(map[string]any{"engine": "postgres", "host": u.Hostname(), "port": 5432, "username": user,
		"password": "user-pw", "dbname": strings.TrimPrefix(u.Path, "/"), "sslmode": "disable", "masterarn": master.ARN})
	root.ok(nil, "secretsmanager", "create-secret", "--name", "pg/alt", "--secret-string", string(appValue))
	var alt rotateOut
	root.ok(&alt, "secretsmanager", "rotate-secret", "--secret-id", "pg/alt", "--rotation-lambda-arn",
		"arn:aws:lambda:us-east-1:"+acct+":function:"+rotation.FunctionPostgresAlternatingUsers)
	waitFor(t, "the alternating-users rotation", func() bool {
		root.ok(&cur, "secretsmanager", "get-secret-value", "--secret-id", "pg/alt")
		return cur.VersionID == alt.VersionID
	})
	if err := json.Unmarshal([]byte(cur.SecretString), &creds); err != nil || creds.Username != clone {
		t.Fatalf("AWSCURRENT user after the alternating rotation: %q %v", creds.Username, err)
	}
	if err := admin.QueryRow(t.Context(), `SELECT rolpassword FROM pg_authid WHERE rolname = $1`, clone).Scan(&verifier); err != nil {
		t.Fatal(err)
	}
	if !rotation.SCRAMMatches(verifier, creds.Password) {
		t.Fatal("the clone's SCRAM verifier is not the new password's")
	}
}
