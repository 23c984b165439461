package rotation

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
)

// fakeSM is Secrets Manager's in-process API over the test store.
type fakeSM struct {
	*memValues
	svc *api.Service
}

func (f *fakeSM) API() *api.Service { return f.svc }

func (f *fakeSM) Secret(ctx context.Context, c *api.Call, id string) (store.Secret, error) {
	s, err := f.st.GetSecret(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		s, err = f.st.GetSecretByName(ctx, c.Principal.AccountID, c.Region, id)
	}
	if errors.Is(err, store.ErrNotFound) {
		return s, awsproto.Errorf(http.StatusBadRequest, codeNotFound, "Secrets Manager can't find the specified secret.")
	}
	return s, err
}

func (f *fakeSM) PutVersion(ctx context.Context, _ *api.Call, arn, id string, val []byte, _ bool, stages []string) (store.SecretVersion, error) {
	return store.SecretVersion{}, f.PutValue(ctx, arn, id, val, stages)
}

func (f *fakeSM) MoveStage(ctx context.Context, arn, stage, from, to string) error {
	return f.st.MoveSecretStage(ctx, arn, stage, from, to, time.Now())
}

func (f *fakeSM) ReadVersion(ctx context.Context, _ *api.Call, arn, id, stage string) ([]byte, bool, store.SecretVersion, error) {
	b, err := f.Value(ctx, arn, id, stage)
	return b, false, store.SecretVersion{}, err
}

func (f *fakeSM) UpdateRotation(ctx context.Context, arn string, fn func(*store.Secret) error) (store.Secret, error) {
	if err := f.memValues.UpdateRotation(ctx, arn, fn); err != nil {
		return store.Secret{}, err
	}
	return f.st.GetSecret(ctx, arn)
}

type fixedAuthz bool

func (a fixedAuthz) Authorize(context.Context, *authz.Request) (authz.Decision, error) {
	return authz.Decision{Allowed: bool(a)}, nil
}

type apiFixture struct {
	s   *Service
	st  testStore
	rot *fakeRotator
	res *results
}

func newAPI(t *testing.T, allowMaster bool) *apiFixture {
	st := newStore(t)
	mv := &memValues{st: st}
	sm := &fakeSM{memValues: mv, svc: &api.Service{Actions: []api.Action{{Name: "DescribeSecret"}, {Name: "GetSecretValue"}}}}
	rot := &fakeRotator{v: mv}
	reg := rotatorsFunc(func(_ context.Context, fn string) (Rotator, error) {
		f, err := ParseFunctionARN(fn)
		if err != nil || f.Name == "unregistered" {
			return nil, ErrNoRotator
		}
		return rot, nil
	})
	e, res := newEngine(t, st, rot, func(c *EngineConfig) { c.Rotators = reg })
	s, err := New(Config{Secrets: sm, Store: st, Keys: nil, Authorizer: fixedAuthz(allowMaster), Engine: e, Rotators: reg})
	if err == nil {
		t.Fatal("New without Keys succeeded")
	}
	s = &Service{cfg: Config{Secrets: sm, Store: st, Authorizer: fixedAuthz(allowMaster), Engine: e, Rotators: reg, Now: time.Now}}
	return &apiFixture{s: s, st: st, rot: rot, res: res}
}

type rotatorsFunc func(ctx context.Context, fn string) (Rotator, error)

func (f rotatorsFunc) Rotator(ctx context.Context, fn string) (Rotator, error) { return f(ctx, fn) }

func (f *apiFixture) rotate(t *testing.T, in rotateSecretInput) (rotateSecretOutput, error) {
	t.Helper()
	c := callFor(acct)
	if err := in.Validate(); err != nil {
		return rotateSecretOutput{}, err
	}
	resolveRes[rotateSecretInput](f.s)(c, &in)
	out, err := f.s.rotateSecret(t.Context(), c, &in)
	if err != nil {
		return rotateSecretOutput{}, err
	}
	return out.(rotateSecretOutput), nil
}

const fnARN = "arn:aws:lambda:us-east-1:" + acct + ":function:rotator"

func TestRotateSecretAPI(t *testing.T) {
	f := newAPI(t, true)
	arn := mkSecret(t, f.st, "db", "old", func(s *store.Secret) { s.RotationEnabled, s.RotationLambdaARN = false, "" })
	no := false
	tests := []struct {
		name string
		in   rotateSecretInput
		code string
		msg  string
	}{
		{"missing secret", rotateSecretInput{SecretID: "nope", RotationLambdaARN: fnARN}, codeNotFound, "can't find"},
		{"no function", rotateSecretInput{SecretID: "db"}, codeInvalidReq, "No Lambda rotation function"},
		{"unregistered", rotateSecretInput{SecretID: "db", RotationLambdaARN: strings.Replace(fnARN, "rotator", "unregistered", 1)}, codeInvalidReq, "can't find a rotator"},
		{"bad rules", rotateSecretInput{SecretID: "db", RotationLambdaARN: fnARN, RotationRules: &Rules{AutomaticallyAfterDays: 1001}}, codeInvalidParam, "AutomaticallyAfterDays"},
		{"bad token", rotateSecretInput{SecretID: "db", ClientRequestToken: "short"}, codeInvalidParam, "ClientRequestToken"},
		{"bad function", rotateSecretInput{SecretID: "db", RotationLambdaARN: "arn:aws:s3:::bucket"}, codeInvalidParam, "RotationLambdaARN"},
		{"schedule only", rotateSecretInput{SecretID: "db", RotationLambdaARN: fnARN, RotateImmediately: &no,
			RotationRules: &Rules{ScheduleExpression: "cron(0 4 ? * SUN *)"}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.rotate(t, tt.in)
			if tt.code == "" {
				if err != nil || out.VersionID != "" || out.ARN != arn {
					t.Fatalf("= %+v, %v", out, err)
				}
				return
			}
			if code(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("= %v, want %s containing %q", err, tt.code, tt.msg)
			}
		})
	}
	sec, _ := f.st.GetSecret(t.Context(), arn)
	if !sec.RotationEnabled || sec.RotationLambdaARN != fnARN || sec.RotationSchedule != "cron(0 4 ? * SUN *)" ||
		sec.NextRotationAt.Weekday() != time.Sunday || sec.NextRotationAt.Hour() != 4 || len(f.rot.Calls()) != 0 {
		t.Fatalf("after scheduling only: %+v, steps %v", sec, f.rot.Calls())
	}

	out, err := f.rotate(t, rotateSecretInput{SecretID: "db", ClientRequestToken: tok1})
	if err != nil || out.VersionID != tok1 {
		t.Fatalf("rotate = %+v, %v", out, err)
	}
	if r := f.res.next(t); r.Err != nil {
		t.Fatal(r.Err)
	}
	if got := stagesOf(t, f.st, arn); got["AWSCURRENT"] != "value-11111111" {
		t.Errorf("stages = %v", got)
	}

	// A failing rotation blocks other tokens; CancelRotateSecret ends it.
	f.rot.mu.Lock()
	f.rot.failing = map[string]error{store.StepTest: errors.New("down")}
	f.rot.mu.Unlock()
	tok2 := "22222222-2222-4222-8222-222222222222"
	if _, err := f.rotate(t, rotateSecretInput{SecretID: "db", ClientRequestToken: tok2}); err != nil {
		t.Fatal(err)
	}
	if r := f.res.next(t); r.Err == nil {
		t.Fatal("rotation did not fail")
	}
	if _, err := f.rotate(t, rotateSecretInput{SecretID: "db"}); code(err) != codeInvalidReq || !strings.Contains(err.Error(), "previous rotation") {
		t.Errorf("rotate while one is unfinished = %v", err)
	}
	cin := cancelRotateInput{SecretID: "db"}
	resolveRes[cancelRotateInput](f.s)(callFor(acct), &cin)
	cout, err := f.s.cancelRotateSecret(t.Context(), callFor(acct), &cin)
	if err != nil || cout.(rotateSecretOutput).VersionID != tok2 {
		t.Fatalf("cancel = %+v, %v", cout, err)
	}
	sec, _ = f.st.GetSecret(t.Context(), arn)
	if sec.RotationEnabled || !sec.NextRotationAt.IsZero() {
		t.Errorf("after cancel: enabled %v next %v", sec.RotationEnabled, sec.NextRotationAt)
	}
	if got := stagesOf(t, f.st, arn); got["AWSCURRENT"] != "value-11111111" {
		t.Errorf("AWSCURRENT after the failed rotation = %q", got["AWSCURRENT"])
	}
}

func TestRotateSecretMasterCheck(t *testing.T) {
	for _, allowed := range []bool{false, true} {
		f := newAPI(t, allowed)
		master := mkSecret(t, f.st, "master", `{"host":"db","username":"postgres","password":"x"}`, nil)
		mkSecret(t, f.st, "app", `{"host":"db","username":"app","password":"y","masterarn":"`+master+`"}`, nil)
		_, err := f.rotate(t, rotateSecretInput{SecretID: "app", RotateImmediately: new(bool),
			RotationLambdaARN: "arn:aws:lambda:us-east-1:" + acct + ":function:" + FunctionPostgresAlternatingUsers})
		if allowed && err != nil || !allowed && code(err) != "AccessDeniedException" {
			t.Errorf("caller allowed to read the master: %v; RotateSecret = %v", allowed, err)
		}
	}
}
