package secrets

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

const (
	testAccount = "111122223333"
	testRegion  = "us-east-1"
	defaultKey  = "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000001"
	otherKey    = "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000002"
)

// fakeKMS is a KeyService: one AES master per key ARN, the blob is
// keyARN NUL nonce||AES-GCM(data key) with the encryption context as
// additional data. Keys can be disabled and principals denied.
type fakeKMS struct {
	mu       sync.Mutex
	masters  map[string][]byte
	disabled map[string]bool
	denied   map[string]bool // principal ARN -> kms:Decrypt denied
	calls    int
}

func newFakeKMS() *fakeKMS {
	k := &fakeKMS{masters: map[string][]byte{}, disabled: map[string]bool{}, denied: map[string]bool{}}
	for _, a := range []string{defaultKey, otherKey} {
		m := make([]byte, 32)
		rand.Read(m)
		k.masters[a] = m
	}
	return k
}

func kmsError(code, msg string) error { return awsproto.Errorf(http.StatusBadRequest, code, "%s", msg) }

func (k *fakeKMS) resolve(keyID string) (string, error) {
	switch keyID {
	case "", "alias/aws/secretsmanager":
		return defaultKey, nil
	case "alias/other", otherKey:
		return otherKey, nil
	case defaultKey:
		return defaultKey, nil
	}
	return "", kmsError("NotFoundException", "key not found")
}

func ctxAAD(encCtx map[string]string) []byte {
	return []byte(encCtx["SecretARN"] + "|" + encCtx["SecretVersionId"])
}

func (k *fakeKMS) gcm(keyARN string) cipher.AEAD {
	b, _ := aes.NewCipher(k.masters[keyARN])
	g, _ := cipher.NewGCM(b)
	return g
}

func (k *fakeKMS) GenerateDataKey(_ context.Context, c *api.Call, keyID string, encCtx map[string]string) ([]byte, []byte, string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	arn, err := k.resolve(keyID)
	if err != nil {
		return nil, nil, "", err
	}
	if k.disabled[arn] {
		return nil, nil, "", kmsError("DisabledException", "disabled")
	}
	if k.denied[c.Principal.ARN] {
		return nil, nil, "", kmsError("AccessDeniedException", "denied")
	}
	dk := make([]byte, 32)
	rand.Read(dk)
	nonce := make([]byte, 12)
	rand.Read(nonce)
	blob := append([]byte(arn+"\x00"), nonce...)
	blob = k.gcm(arn).Seal(blob, nonce, dk, ctxAAD(encCtx))
	return dk, blob, arn, nil
}

func (k *fakeKMS) Decrypt(_ context.Context, c *api.Call, blob []byte, encCtx map[string]string) ([]byte, string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	i := bytes.IndexByte(blob, 0)
	if i < 0 || len(blob) < i+13 {
		return nil, "", kmsError("InvalidCiphertextException", "bad blob")
	}
	arn := string(blob[:i])
	if k.masters[arn] == nil {
		return nil, "", kmsError("InvalidCiphertextException", "bad blob")
	}
	if k.disabled[arn] {
		return nil, "", kmsError("DisabledException", "disabled")
	}
	if k.denied[c.Principal.ARN] {
		return nil, "", kmsError("AccessDeniedException", "denied")
	}
	pt, err := k.gcm(arn).Open(nil, blob[i+1:i+13], blob[i+13:], ctxAAD(encCtx))
	if err != nil {
		return nil, "", kmsError("InvalidCiphertextException", "context mismatch")
	}
	return pt, arn, nil
}

func (k *fakeKMS) ResolveKey(_ context.Context, _ *api.Call, keyID string) (string, error) {
	return k.resolve(keyID)
}

// fakeSource gives principals identity policies by ARN.
type fakeSource struct{ policies map[string][]*policy.Policy }

func (f *fakeSource) Identity(_ context.Context, p *api.Principal) (*authz.Identity, error) {
	return &authz.Identity{Policies: f.policies[p.ARN]}, nil
}

func (f *fakeSource) SessionPolicies(context.Context, *api.Principal) ([]*policy.Policy, error) {
	return nil, nil
}

type harness struct {
	t     testing.TB
	st    *sqlite.Store
	kms   *fakeKMS
	src   *fakeSource
	s     *Service
	now   time.Time
	authz authz.Authorizer
}

var root = &api.Principal{Type: "Root", ARN: "arn:aws:iam::" + testAccount + ":root", AccountID: testAccount, UserID: testAccount}

func user(name string) *api.Principal {
	return &api.Principal{Type: "IAMUser", ARN: "arn:aws:iam::" + testAccount + ":user/" + name, AccountID: testAccount,
		UserID: "AIDA" + strings.ToUpper(name), UserName: name}
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	st, err := sqlite.Open(context.Background(), ":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateAccount(context.Background(), store.Account{ID: testAccount, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, kms: newFakeKMS(), src: &fakeSource{policies: map[string][]*policy.Policy{}},
		now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
	h.authz = &authz.Policies{Source: h.src}
	h.s, err = New(Config{Store: st, Keys: h.kms, Authorizer: h.authz, Now: func() time.Time { return h.now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.NewRegistry(h.s.API()); err != nil {
		t.Fatal(err)
	}
	return h
}

// allow gives a principal an identity policy.
func (h *harness) allow(p *api.Principal, doc string) {
	h.t.Helper()
	pol, err := policy.Parse([]byte(doc), policy.KindIdentity)
	if err != nil {
		h.t.Fatal(err)
	}
	h.src.policies[p.ARN] = append(h.src.policies[p.ARN], pol)
}

// do runs an action as the server does (bind, authorise with the resource
// policy, run) and returns the JSON result as a map, or the public error.
func (h *harness) do(p *api.Principal, action string, in any) (map[string]any, *awsproto.Error) {
	h.t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		h.t.Fatal(err)
	}
	svc := h.s.API()
	a := svc.Action(action)
	if a == nil {
		h.t.Fatalf("no action %s", action)
	}
	c := &api.Call{RequestID: "req", Service: svc, Action: a, Principal: p, Region: testRegion, Time: h.now, Body: body}
	ctx := context.Background()
	op, err := a.Bind(c)
	if err != nil {
		return nil, awsproto.As(err)
	}
	req := &authz.Request{Call: c, Action: a, Resources: op.Resources, Context: op.Context}
	if a.ResourcePolicy != nil && len(op.Resources) == 1 {
		if req.ResourcePolicy, err = a.ResourcePolicy(ctx, c, op.Resources[0]); err != nil {
			return nil, awsproto.As(err)
		}
	}
	dec, err := h.authz.Authorize(ctx, req)
	if err != nil {
		h.t.Fatal(err)
	}
	if !dec.Allowed {
		return nil, authz.Denied(c, dec)
	}
	res, err := op.Run(ctx)
	if err != nil {
		e := awsproto.As(err)
		if e.Status >= 500 {
			h.t.Logf("internal error: %v", err)
		}
		return nil, e
	}
	b, err := awsproto.EncodeJSON(res)
	if err != nil {
		h.t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		h.t.Fatalf("result %s: %v", b, err)
	}
	return out, nil
}

// ok runs an action as root and fails the test on error.
func (h *harness) ok(action string, in any) map[string]any {
	h.t.Helper()
	out, err := h.do(root, action, in)
	if err != nil {
		h.t.Fatalf("%s: %v", action, err)
	}
	return out
}

// fails runs an action as root and checks the error code.
func (h *harness) fails(code, action string, in any) *awsproto.Error {
	h.t.Helper()
	_, err := h.do(root, action, in)
	if err == nil {
		h.t.Fatalf("%s succeeded, want %s", action, code)
	}
	if err.Code != code {
		h.t.Fatalf("%s: %s (%s), want %s", action, err.Code, err.Message, code)
	}
	return err
}

type obj = map[string]any

func token(n int) string { return fmt.Sprintf("%08d-0000-4000-8000-%012d", n, n) }

func (h *harness) create(name, value string) map[string]any {
	h.t.Helper()
	return h.ok("CreateSecret", obj{"Name": name, "SecretString": value, "ClientRequestToken": token(1)})
}

func isCode(err error, code string) bool {
	var e *awsproto.Error
	return errors.As(err, &e) && e.Code == code
}

// with returns the harness reporting to a subtest's t.
func (h *harness) with(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}
