package sts

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // IAM thumbprints are SHA-1
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/oidc"
	"github.com/bulwark-security/bulwark/internal/session"
	"github.com/bulwark-security/bulwark/internal/store"
)

const testAcct = "111122223333"

// fakeIAM holds roles, policies and OIDC providers; the other store
// methods are not used by AssumeRoleWithWebIdentity.
type fakeIAM struct {
	store.IAM
	roles     map[string]store.Role
	providers map[string]store.OIDCProvider
	policies  map[string]bool
}

func (f *fakeIAM) GetRole(_ context.Context, _, name string) (store.Role, error) {
	if r, ok := f.roles[name]; ok {
		return r, nil
	}
	return store.Role{}, store.ErrNotFound
}

func (f *fakeIAM) GetOIDCProvider(_ context.Context, arn string) (store.OIDCProvider, error) {
	if p, ok := f.providers[arn]; ok {
		return p, nil
	}
	return store.OIDCProvider{}, store.ErrNotFound
}

func (f *fakeIAM) GetPolicy(_ context.Context, arn string) (store.ManagedPolicy, error) {
	if f.policies[arn] {
		return store.ManagedPolicy{ARN: arn}, nil
	}
	return store.ManagedPolicy{}, store.ErrNotFound
}

func (f *fakeIAM) TouchRole(context.Context, string, string, time.Time, string) error { return nil }

type fakeStore struct{ store.Store }

type testIssuer struct {
	srv *httptest.Server
	key *rsa.PrivateKey
	id  string // host:port
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss := &testIssuer{key: key}
	enc := base64.RawURLEncoding
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": iss.srv.URL, "jwks_uri": iss.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k1",
			"n": enc.EncodeToString(key.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(key.E)).Bytes())}}})
	})
	iss.srv = httptest.NewTLSServer(mux)
	t.Cleanup(iss.srv.Close)
	iss.id = strings.TrimPrefix(iss.srv.URL, "https://")
	return iss
}

func (iss *testIssuer) provider() store.OIDCProvider {
	sum := sha1.Sum(iss.srv.Certificate().Raw) //nolint:gosec
	return store.OIDCProvider{AccountID: testAcct, ARN: "arn:aws:iam::" + testAcct + ":oidc-provider/" + iss.id, URL: iss.srv.URL,
		ClientIDs: []string{"my-app"}, Thumbprints: []string{hex.EncodeToString(sum[:])}}
}

func (iss *testIssuer) token(t *testing.T, alg string, edit func(map[string]any)) string {
	t.Helper()
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": alg, "kid": "k1"})
	now := time.Now()
	claims := map[string]any{"iss": iss.srv.URL, "sub": "repo:acme/app", "aud": "my-app", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if edit != nil {
		edit(claims)
	}
	c, _ := json.Marshal(claims)
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	d := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, iss.key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

func trustDoc(providerARN, cond string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + providerARN +
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + cond + `}]}`
}

func TestAssumeRoleWithWebIdentity(t *testing.T) {
	iss := newTestIssuer(t)
	down := newTestIssuer(t)
	prov, downProv := iss.provider(), down.provider()
	down.srv.Close() // registered, but unreachable
	subCond := `{"StringEquals":{"` + iss.id + `:sub":"repo:acme/app","` + iss.id + `:aud":"my-app"}}`
	role := func(name, trust string) store.Role {
		return store.Role{AccountID: testAcct, RoleName: name, RoleID: "AROAEXAMPLE" + strings.ToUpper(name),
			ARN: "arn:aws:iam::" + testAcct + ":role/" + name, AssumeRolePolicyDocument: trust, MaxSessionDuration: 3600}
	}
	denySub := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + prov.ARN +
		`"},"Action":"sts:AssumeRoleWithWebIdentity"},{"Effect":"Deny","Principal":"*","Action":"*","Condition":{"StringLike":{"` +
		iss.id + `:sub":"repo:acme/*"}}}]}`
	fiam := &fakeIAM{
		roles: map[string]store.Role{
			"app":       role("app", trustDoc(prov.ARN, subCond)),
			"other-idp": role("other-idp", trustDoc("arn:aws:iam::"+testAcct+":oidc-provider/example.com", `{}`)),
			"denied":    role("denied", denySub),
			"session":   role("session", trustDoc(prov.ARN, `{"StringEquals":{"sts:RoleSessionName":"ok-session"}}`)),
			"down":      role("down", trustDoc(downProv.ARN, `{}`)),
		},
		providers: map[string]store.OIDCProvider{prov.ARN: prov, downProv.ARN: downProv},
		policies:  map[string]bool{"arn:aws:iam::aws:policy/ReadOnlyAccess": true},
	}
	kr, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	svc := New(Config{Store: fakeStore{}, IAM: fiam, Keyring: kr, Authorizer: authz.RootOnly{},
		OIDC: oidc.NewVerifier(oidc.Config{Timeout: 2 * time.Second})})
	reg, err := api.NewRegistry(svc)
	if err != nil {
		t.Fatal(err)
	}
	action := reg.Service("sts").Action("AssumeRoleWithWebIdentity")
	if action == nil || !action.Unauthenticated {
		t.Fatal("AssumeRoleWithWebIdentity is not an unauthenticated action")
	}
	good := iss.token(t, "RS256", nil)
	roleARN := func(n string) string { return "arn:aws:iam::" + testAcct + ":role/" + n }

	tests := []struct {
		name    string
		params  url.Values
		code    string
		status  int
		msg     string
		session string // expected session name on success
	}{
		{name: "trusted subject", params: url.Values{"RoleArn": {roleARN("app")}, "RoleSessionName": {"build-1"}, "WebIdentityToken": {good}}, session: "build-1"},
		{name: "with session policy", params: url.Values{"RoleArn": {roleARN("app")}, "RoleSessionName": {"build-2"}, "WebIdentityToken": {good},
			"Policy":                  {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`},
			"PolicyArns.member.1.arn": {"arn:aws:iam::aws:policy/ReadOnlyAccess"}, "DurationSeconds": {"900"}}, session: "build-2"},
		{name: "other subject", params: url.Values{"RoleArn": {roleARN("app")}, "RoleSessionName": {"build-1"},
			"WebIdentityToken": {iss.token(t, "RS256", func(c map[string]any) { c["sub"] = "repo:evil/app" })}},
			code: "AccessDenied", status: 403, msg: "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{name: "trust policy names another provider", params: url.Values{"RoleArn": {roleARN("other-idp")}, "RoleSessionName": {"s1"}, "WebIdentityToken": {good}},
			code: "AccessDenied", status: 403},
		{name: "explicit deny on sub", params: url.Values{"RoleArn": {roleARN("denied")}, "RoleSessionName": {"s1"}, "WebIdentityToken": {good}},
			code: "AccessDenied", status: 403},
		{name: "session name condition met", params: url.Values{"RoleArn": {roleARN("session")}, "RoleSessionName": {"ok-session"}, "WebIdentityToken": {good}}, session: "ok-session"},
		{name: "session name condition not met", params: url.Values{"RoleArn": {roleARN("session")}, "RoleSessionName": {"bad-session"}, "WebIdentityToken": {good}},
			code: "AccessDenied", status: 403},
		{name: "missing role", params: url.Values{"RoleArn": {roleARN("nope")}, "RoleSessionName": {"s1"}, "WebIdentityToken": {good}},
			code: "AccessDenied", status: 403},
		{name: "role in an account without the provider", params: url.Values{"RoleArn": {"arn:aws:iam::999999999999:role/app"}, "RoleSessionName": {"s1"}, "WebIdentityToken": {good}},
			code: "InvalidIdentityToken", status: 400, msg: "No OpenIDConnect provider found in your account for " + iss.srv.URL},
		{name: "wrong audience", params: url.Values{"RoleArn": {roleARN("app")}, "RoleSessionName": {"s1"},
			"WebIdentityToken": {iss.token(t, "RS256", func(c map[string]any) { c["aud"] = "other" })}},
			code: "InvalidIdentityToken", status: 400, msg: "Incorrect token audience"},
		{name: "expired", params: url.Values{"RoleArn": {roleARN("app")}, "RoleSessionName": {"s1"},
			"WebIdentityToken": {iss.token(t, "RS256", func(c map[string]any) { c["exp"] = time.Now().Add(-10 * time.Minute).Unix() })}},
			code: "ExpiredTokenException", status: 400, msg: "Token expired"},
		{name: "forged signature", params: url.Values{"RoleArn": {roleARN("app")}, "RoleSessionName": {"s1"},
			"WebIdentityToken": {good[:strings.LastIndexByte(good, '.')] + ".AAAA"}},
			code: "InvalidIdentityToken", status: 400},
		{name: "HS256", params: url.Values{"RoleArn": {roleARN("app")}, "RoleSessionName": {"s1"},
			"WebIdentityToken": {iss.token(t, "HS256", nil)}}, code: "InvalidIdentityToken", status: 400},
		{name: "not a JWT", params: url.Values{"RoleArn": {roleARN("app")}, "RoleSessionName": {"s1"}, "WebIdentityToken": {"opaque-access-token"}},
			code: "InvalidIdentityToken", status: 400, msg: "not a valid JWT"},
		{name: "issuer unreachable", params: url.Values{"RoleArn": {roleARN("down")}, "RoleSessionName": {"s1"},
			"WebIdentityToken": {down.token(t, "RS256", nil)}}, code: "IDPCommunicationError", status: 400},
		{name: "duration over the role maximum", params: url.Values{"RoleArn": {roleARN("app")}, "RoleSessionName": {"s1"}, "WebIdentityToken": {good},
			"DurationSeconds": {"7200"}}, code: "ValidationError", status: 400, msg: "MaxSessionDuration"},
		{name: "unknown session policy ARN", params: url.Values{"RoleArn": {roleARN("app")}, "RoleSessionName": {"s1"}, "WebIdentityToken": {good},
			"PolicyArns.member.1.arn": {"arn:aws:iam::aws:policy/Nope"}}, code: "InvalidParameterValue", status: 400},
		{name: "token too short", params: url.Values{"RoleArn": {roleARN("app")}, "RoleSessionName": {"s1"}, "WebIdentityToken": {"abc"}},
			code: "ValidationError", status: 400},
		{name: "token too long", params: url.Values{"RoleArn": {roleARN("app")}, "RoleSessionName": {"s1"}, "WebIdentityToken": {strings.Repeat("a", 20001)}},
			code: "ValidationError", status: 400},
		{name: "bad session name", params: url.Values{"RoleArn": {roleARN("app")}, "RoleSessionName": {"a"}, "WebIdentityToken": {good}},
			code: "ValidationError", status: 400},
		{name: "missing role ARN", params: url.Values{"RoleSessionName": {"s1"}, "WebIdentityToken": {good}},
			code: "ValidationError", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &api.Call{RequestID: "r1", Service: reg.Service("sts"), Action: action, Region: "us-east-1",
				Time: time.Now().UTC(), SourceIP: netip.MustParseAddr("127.0.0.1"), Params: tt.params,
				Principal: &api.Principal{Type: api.PrincipalTypeWebIdentity}}
			op, err := action.Bind(c)
			var out any
			if err == nil {
				out, err = op.Run(context.Background())
			}
			if tt.code != "" {
				e := awsproto.As(err)
				if err == nil || e.Code != tt.code || e.Status != tt.status || !strings.Contains(e.Message, tt.msg) {
					t.Fatalf("err = %v (%+v), want %s %d %q", err, e, tt.code, tt.status, tt.msg)
				}
				if strings.Contains(e.Message, tt.params.Get("WebIdentityToken")) {
					t.Fatal("error message repeats the token")
				}
				return
			}
			if err != nil {
				t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
			}
			res := out.(*assumeRoleWithWebIdentityResult)
			name := strings.TrimPrefix(tt.params.Get("RoleArn"), "arn:aws:iam::"+testAcct+":role/")
			wantARN := "arn:aws:sts::" + testAcct + ":assumed-role/" + name + "/" + tt.session
			if res.AssumedRoleUser.Arn != wantARN || res.SubjectFromWebIdentityToken != "repo:acme/app" || res.Audience != "my-app" ||
				res.Provider != prov.ARN || !strings.HasPrefix(res.Credentials.AccessKeyID, "ASIA") {
				t.Fatalf("result %+v", res)
			}
			sess, err := session.Open(kr, res.Credentials.AccessKeyID, res.Credentials.SessionToken)
			if err != nil {
				t.Fatalf("open session token: %v", err)
			}
			p := sess.Principal
			if p.ARN != wantARN || p.RoleARN != roleARN(name) || !p.Temporary || p.Type != "AssumedRole" {
				t.Fatalf("session principal %+v", p)
			}
			if tt.params.Get("Policy") != "" && (p.SessionPolicy == "" || len(p.SessionPolicyARNs) != 1 || res.PackedPolicySize == 0) {
				t.Fatalf("session policies not carried: %+v, packed %d", p, res.PackedPolicySize)
			}
			if c.Principal.UserName != "repo:acme/app" || c.Principal.UserID != iss.id+":my-app:repo:acme/app" {
				t.Fatalf("audit principal %+v", c.Principal)
			}
		})
	}
}
