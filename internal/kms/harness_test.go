package kms

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

const (
	acct   = "123456789012"
	region = "us-east-1"
)

// harness runs KMS actions the way the server does (bind, key policy,
// authorize, run) against an in-memory SQLite store and IAM policies.
type harness struct {
	t    testing.TB
	st   *sqlite.Store
	keys *Keys
	src  *authz.StoreSource
	now  time.Time
	ring *keyring.Keyring
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	st, err := sqlite.Open(context.Background(), ":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ring, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateAccount(t.Context(), store.Account{ID: acct, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, ring: ring, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h.src = &authz.StoreSource{IAM: st}
	h.keys, err = New(Config{Store: st, Keyring: ring, Authorizer: &authz.Policies{Source: h.src},
		Now: func() time.Time { return h.now }})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) root() *api.Principal {
	return &api.Principal{Type: "Root", ARN: "arn:aws:iam::" + acct + ":root", AccountID: acct, UserID: acct}
}

var userSeq int

// user creates an IAM user with inline identity policies.
func (h *harness) user(name string, policies ...string) *api.Principal {
	h.t.Helper()
	ctx := h.t.Context()
	userSeq++
	id := "AIDA" + strings.Repeat("X", 13) + string(rune('A'+userSeq%26)) + string(rune('A'+userSeq/26%26)) + "XX"
	arnv := "arn:aws:iam::" + acct + ":user/" + name
	if err := h.st.CreateUser(ctx, store.User{AccountID: acct, UserName: name, UserID: id, Path: "/", ARN: arnv, CreatedAt: time.Now()}); err != nil {
		h.t.Fatal(err)
	}
	for i, doc := range policies {
		if err := h.st.PutInlinePolicy(ctx, store.InlinePolicy{AccountID: acct, EntityKind: store.EntityUser, EntityName: name,
			PolicyName: "p" + string(rune('0'+i)), Document: doc}); err != nil {
			h.t.Fatal(err)
		}
	}
	h.src.Invalidate()
	return &api.Principal{Type: "IAMUser", ARN: arnv, AccountID: acct, UserID: id, UserName: name}
}

// call runs one action and returns its JSON result decoded into a map.
func (h *harness) call(p *api.Principal, action string, in any) (map[string]any, error) {
	h.t.Helper()
	ctx := h.t.Context()
	body, err := json.Marshal(in)
	if err != nil {
		h.t.Fatal(err)
	}
	svc := h.keys.Service()
	a := svc.Action(action)
	if a == nil {
		h.t.Fatalf("no action %s", action)
	}
	c := &api.Call{RequestID: "r", Service: svc, Action: a, Principal: p, Region: region, Time: h.now, Body: body}
	op, err := a.Bind(c)
	if err != nil {
		return nil, err
	}
	areq := &authz.Request{Call: c, Action: a, Resources: op.Resources, Context: op.Context, RequireResourceAllow: a.RequireResourceAllow}
	if a.ResourcePolicy != nil && len(op.Resources) == 1 {
		if areq.ResourcePolicy, err = a.ResourcePolicy(ctx, c, op.Resources[0]); err != nil {
			return nil, err
		}
	}
	dec, err := h.keys.cfg.Authorizer.Authorize(ctx, areq)
	if err != nil {
		h.t.Fatalf("authorize: %v", err)
	}
	if !dec.Allowed {
		return nil, authz.Denied(c, dec)
	}
	res, err := op.Run(ctx)
	if err != nil {
		return nil, err
	}
	out, err := awsproto.EncodeJSON(res)
	if err != nil {
		h.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		h.t.Fatal(err)
	}
	return m, nil
}

// ok runs an action that must succeed.
func (h *harness) ok(p *api.Principal, action string, in any) map[string]any {
	h.t.Helper()
	out, err := h.call(p, action, in)
	if err != nil {
		h.t.Fatalf("%s: %v", action, err)
	}
	return out
}

// fails runs an action that must fail with code.
func (h *harness) fails(p *api.Principal, action string, in any, code string) {
	h.t.Helper()
	_, err := h.call(p, action, in)
	if got := errCode(err); got != code {
		h.t.Fatalf("%s: error %v (code %q), want %s", action, err, got, code)
	}
}

func errCode(err error) string {
	if err == nil {
		return ""
	}
	return awsproto.As(err).Code
}

// createKey creates a key as root and returns its id.
func (h *harness) createKey(in map[string]any) string {
	h.t.Helper()
	out := h.ok(h.root(), "CreateKey", in)
	return out["KeyMetadata"].(map[string]any)["KeyId"].(string)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func unb64(t *testing.T, v any) []byte {
	t.Helper()
	s, _ := v.(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("not base64: %v", v)
	}
	return b
}

type m = map[string]any
