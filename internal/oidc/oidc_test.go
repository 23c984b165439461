package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var enc = base64.RawURLEncoding

// issuer is a test OIDC provider: a TLS server publishing its keys.
type issuer struct {
	srv     *httptest.Server
	rsaKey  *rsa.PrivateKey
	ecKey   *ecdsa.PrivateKey
	fetches atomic.Int32
	jwks    atomic.Value // []map[string]string
}

func newIssuer(t testing.TB) *issuer {
	t.Helper()
	iss := &issuer{}
	var err error
	if iss.rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if iss.ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	iss.jwks.Store([]map[string]string{iss.rsaJWK("rsa1"), iss.ecJWK("ec1")})
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": iss.srv.URL, "jwks_uri": iss.srv.URL + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		iss.fetches.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": iss.jwks.Load()})
	})
	iss.srv = httptest.NewTLSServer(mux)
	t.Cleanup(iss.srv.Close)
	return iss
}

func (iss *issuer) rsaJWK(kid string) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": enc.EncodeToString(iss.rsaKey.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(iss.rsaKey.E)).Bytes())}
}

func (iss *issuer) ecJWK(kid string) map[string]string {
	return map[string]string{"kty": "EC", "kid": kid, "crv": "P-256",
		"x": enc.EncodeToString(iss.ecKey.X.FillBytes(make([]byte, 32))), "y": enc.EncodeToString(iss.ecKey.Y.FillBytes(make([]byte, 32)))}
}

func (iss *issuer) thumbprint() string {
	sum := sha1.Sum(iss.srv.Certificate().Raw) //nolint:gosec
	return hex.EncodeToString(sum[:])
}

func (iss *issuer) provider() Provider {
	return Provider{URL: iss.srv.URL, ClientIDs: []string{"my-app"}, Thumbprints: []string{strings.ToUpper(iss.thumbprint())}}
}

func (iss *issuer) claims(now time.Time) map[string]any {
	return map[string]any{"iss": iss.srv.URL, "sub": "user-1", "aud": "my-app",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

// sign makes a compact JWS; alg decides the key (RS*: the RSA key, ES256:
// the EC key, HS256: hmacKey, none: no signature).
func (iss *issuer) sign(t testing.TB, header, claims map[string]any, hmacKey []byte) string {
	t.Helper()
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	input := enc.EncodeToString(hb) + "." + enc.EncodeToString(cb)
	var sig []byte
	switch header["alg"] {
	case "RS256":
		d := sha256.Sum256([]byte(input))
		sig, _ = rsa.SignPKCS1v15(rand.Reader, iss.rsaKey, crypto.SHA256, d[:])
	case "ES256":
		d := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(rand.Reader, iss.ecKey, d[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	case "HS256":
		m := hmac.New(sha256.New, hmacKey)
		m.Write([]byte(input))
		sig = m.Sum(nil)
	case "none":
		return input + "."
	}
	return input + "." + enc.EncodeToString(sig)
}

func TestVerify(t *testing.T) {
	iss := newIssuer(t)
	now := time.Unix(1_800_000_000, 0)
	v := NewVerifier(Config{Now: func() time.Time { return now }})
	rs := map[string]any{"alg": "RS256", "kid": "rsa1", "typ": "JWT"}
	es := map[string]any{"alg": "ES256", "kid": "ec1"}
	pubDER, _ := x509.MarshalPKIXPublicKey(&iss.rsaKey.PublicKey)
	with := func(k string, val any) map[string]any {
		c := iss.claims(now)
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	good := iss.sign(t, rs, iss.claims(now), nil)
	parts := strings.Split(good, ".")
	otherSig := strings.Split(iss.sign(t, rs, with("sub", "user-2"), nil), ".")[2]

	tests := []struct {
		name  string
		token string
		prov  func(Provider) Provider
		kind  Kind
		msg   string
	}{
		{name: "valid RS256", token: good},
		{name: "valid ES256", token: iss.sign(t, es, iss.claims(now), nil)},
		{name: "audience array", token: iss.sign(t, rs, with("aud", []string{"other", "my-app"}), nil)},
		{name: "no kid", token: iss.sign(t, map[string]any{"alg": "RS256"}, iss.claims(now), nil)},
		{name: "alg none", token: iss.sign(t, map[string]any{"alg": "none", "kid": "rsa1"}, iss.claims(now), nil), kind: KindInvalidToken, msg: "not a valid JWT"},
		{name: "alg none with a signature", token: strings.TrimSuffix(iss.sign(t, map[string]any{"alg": "none"}, iss.claims(now), nil), ".") + ".AAAA", kind: KindInvalidToken, msg: "not supported"},
		{name: "HS256 with public key as secret", token: iss.sign(t, map[string]any{"alg": "HS256", "kid": "rsa1"}, iss.claims(now), pubDER), kind: KindInvalidToken, msg: "not supported"},
		{name: "alg mismatching key", token: iss.sign(t, map[string]any{"alg": "ES256", "kid": "rsa1"}, iss.claims(now), nil), kind: KindInvalidToken, msg: "verification key"},
		{name: "bad signature", token: parts[0] + "." + parts[1] + "." + otherSig, kind: KindInvalidToken, msg: "signature"},
		{name: "tampered payload", token: parts[0] + "." + enc.EncodeToString([]byte(`{"iss":"`+iss.srv.URL+`","sub":"admin","aud":"my-app","exp":1900000000}`)) + "." + parts[2], kind: KindInvalidToken, msg: "signature"},
		{name: "unknown kid", token: iss.sign(t, map[string]any{"alg": "RS256", "kid": "nope"}, iss.claims(now), nil), kind: KindInvalidToken, msg: "verification key"},
		{name: "expired", token: iss.sign(t, rs, with("exp", now.Add(-5*time.Minute).Unix()), nil), kind: KindExpired, msg: "Token expired"},
		{name: "expired within skew", token: iss.sign(t, rs, with("exp", now.Add(-5*time.Minute+time.Second).Unix()), nil)},
		{name: "no exp", token: iss.sign(t, rs, with("exp", nil), nil), kind: KindInvalidToken, msg: "exp"},
		{name: "not yet valid", token: iss.sign(t, rs, with("nbf", now.Add(10*time.Minute).Unix()), nil), kind: KindInvalidToken, msg: "not yet valid"},
		{name: "nbf within skew", token: iss.sign(t, rs, with("nbf", now.Add(time.Minute).Unix()), nil)},
		{name: "issued in the future", token: iss.sign(t, rs, with("iat", now.Add(time.Hour).Unix()), nil), kind: KindInvalidToken, msg: "future"},
		{name: "wrong iss", token: iss.sign(t, rs, with("iss", "https://evil.example"), nil), kind: KindInvalidToken, msg: "Issuer"},
		{name: "http iss", token: iss.sign(t, rs, with("iss", strings.Replace(iss.srv.URL, "https", "http", 1)), nil), kind: KindInvalidToken, msg: "iss"},
		{name: "wrong aud", token: iss.sign(t, rs, with("aud", "other"), nil), kind: KindInvalidToken, msg: "audience"},
		{name: "no aud", token: iss.sign(t, rs, with("aud", nil), nil), kind: KindInvalidToken, msg: "audience"},
		{name: "aud wrong type", token: iss.sign(t, rs, with("aud", 7), nil), kind: KindInvalidToken, msg: "aud"},
		{name: "no sub", token: iss.sign(t, rs, with("sub", nil), nil), kind: KindInvalidToken, msg: "sub"},
		{name: "crit header", token: iss.sign(t, map[string]any{"alg": "RS256", "kid": "rsa1", "crit": []string{"x"}}, iss.claims(now), nil), kind: KindInvalidToken, msg: "critical"},
		{name: "oversized", token: good + strings.Repeat("A", MaxTokenLen), kind: KindInvalidToken, msg: "too large"},
		{name: "two segments", token: parts[0] + "." + parts[1], kind: KindInvalidToken, msg: "not a valid JWT"},
		{name: "four segments", token: good + ".x", kind: KindInvalidToken, msg: "not a valid JWT"},
		{name: "padded base64", token: parts[0] + "=." + parts[1] + "." + parts[2], kind: KindInvalidToken, msg: "not a valid JWT"},
		{name: "header not JSON", token: enc.EncodeToString([]byte("nope")) + "." + parts[1] + "." + parts[2], kind: KindInvalidToken, msg: "not a valid JWT"},
		{name: "empty signature", token: parts[0] + "." + parts[1] + ".", kind: KindInvalidToken, msg: "not a valid JWT"},
		{name: "untrusted TLS", token: good, prov: func(p Provider) Provider { p.Thumbprints = []string{strings.Repeat("0", 40)}; return p }, kind: KindIDPCommunication},
		{name: "client id not registered", token: good, prov: func(p Provider) Provider { p.ClientIDs = []string{"x"}; return p }, kind: KindInvalidToken, msg: "audience"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := iss.provider()
			if tt.prov != nil {
				p = tt.prov(p)
			}
			res, err := v.Parse(context.Background(), tt.token, p)
			if tt.kind == 0 {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if res.Audience != "my-app" || res.Claims.Subject != "user-1" {
					t.Fatalf("result %+v", res)
				}
				return
			}
			if KindOf(err) != tt.kind {
				t.Fatalf("err = %v (kind %d), want kind %d", err, KindOf(err), tt.kind)
			}
			var e *Error
			_ = errorsAs(err, &e)
			if !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("message %q does not contain %q", e.Message, tt.msg)
			}
			if strings.Contains(err.Error(), tt.token) && len(tt.token) > 10 {
				t.Fatal("error repeats the token")
			}
		})
	}
}

func TestKeyCacheAndRotation(t *testing.T) {
	iss := newIssuer(t)
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	v := NewVerifier(Config{Now: clock})
	ctx := context.Background()
	tok := iss.sign(t, map[string]any{"alg": "RS256", "kid": "rsa1"}, iss.claims(now), nil)
	for range 3 {
		if _, err := v.Parse(ctx, tok, iss.provider()); err != nil {
			t.Fatal(err)
		}
	}
	if n := iss.fetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1 (cached)", n)
	}
	// An unknown kid refetches once, then not again within a minute.
	now = now.Add(61 * time.Second)
	unknown := iss.sign(t, map[string]any{"alg": "RS256", "kid": "rsa2"}, iss.claims(now), nil)
	for range 3 {
		if _, err := v.Parse(ctx, unknown, iss.provider()); KindOf(err) != KindInvalidToken {
			t.Fatalf("unknown kid: %v", err)
		}
	}
	if n := iss.fetches.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", n)
	}
	// The issuer rotates to rsa2; after the refetch interval it is found.
	iss.jwks.Store([]map[string]string{iss.rsaJWK("rsa2")})
	now = now.Add(61 * time.Second)
	tok2 := iss.sign(t, map[string]any{"alg": "RS256", "kid": "rsa2"}, iss.claims(now), nil)
	if _, err := v.Parse(ctx, tok2, iss.provider()); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	// After the cache TTL the old key is gone.
	now = now.Add(11 * time.Minute)
	tok1 := iss.sign(t, map[string]any{"alg": "RS256", "kid": "rsa1"}, iss.claims(now), nil)
	if _, err := v.Parse(ctx, tok1, iss.provider()); KindOf(err) != KindInvalidToken {
		t.Fatalf("retired key: %v", err)
	}
}

func TestIssuerUnreachable(t *testing.T) {
	iss := newIssuer(t)
	now := time.Now()
	tok := iss.sign(t, map[string]any{"alg": "RS256", "kid": "rsa1"}, iss.claims(now), nil)
	p := iss.provider()
	iss.srv.Close()
	v := NewVerifier(Config{Timeout: 2 * time.Second})
	for range 2 { // the second answer comes from the failure cache
		_, err := v.Parse(context.Background(), tok, p)
		if KindOf(err) != KindIDPCommunication {
			t.Fatalf("err = %v, want IDP communication", err)
		}
	}
}

func TestJWKSBounds(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	tests := []struct {
		name string
		jwks string
		ok   bool
	}{
		{"not an object", `[]`, false},
		{"no keys", `{"keys":[]}`, false},
		{"short RSA key", `{"keys":[{"kty":"RSA","n":"` + enc.EncodeToString(small.N.Bytes()) + `","e":"AQAB"}]}`, false},
		{"EC point off curve", `{"keys":[{"kty":"EC","crv":"P-256","x":"` + enc.EncodeToString(make([]byte, 32)) + `","y":"` + enc.EncodeToString(make([]byte, 32)) + `"}]}`, false},
		{"encryption key only", `{"keys":[{"kty":"oct","k":"AAAA","use":"enc"}]}`, false},
		{"too many keys", `{"keys":[` + strings.Repeat(`{},`, maxKeys) + `{}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseJWKS([]byte(tt.jwks))
			if (err == nil) != tt.ok {
				t.Fatalf("parseJWKS err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestIssuerID(t *testing.T) {
	for in, want := range map[string]string{
		"https://Example.com/":         "example.com",
		"https://example.com/tenant/1": "example.com/tenant/1",
		"https://127.0.0.1:8443":       "127.0.0.1:8443",
	} {
		if got, err := IssuerID(in); err != nil || got != want {
			t.Errorf("IssuerID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"http://example.com", "https://", "https://u@example.com", "https://example.com?x=1", "example.com"} {
		if _, err := IssuerID(bad); err == nil {
			t.Errorf("IssuerID(%q) accepted", bad)
		}
	}
}

func FuzzParseJWT(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2EiLCJhdWQiOlsiYiJdLCJleHAiOjF9.AAAA")
	f.Add("a.b.c")
	f.Add("..")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseJWT(s)
		if err != nil {
			if KindOf(err) != KindInvalidToken {
				t.Fatalf("error of kind %d: %v", KindOf(err), err)
			}
			return
		}
		if len(s) > MaxTokenLen || tok.signingInput == "" || !strings.HasPrefix(s, tok.signingInput+".") {
			t.Fatalf("bad parse of %q", s)
		}
	})
}

func FuzzParseJWKS(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"a","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]}`))
	f.Add([]byte(`{"keys":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := parseJWKS(b)
		if err == nil && (len(keys) == 0 || len(keys) > maxKeys) {
			t.Fatalf("%d keys without error", len(keys))
		}
		for i := range keys {
			for alg := range algorithms {
				_ = keys[i].usable(alg)
			}
		}
	})
}

// BenchmarkVerify measures parsing and verifying a token with the keys
// cached (the steady state).
func BenchmarkVerify(b *testing.B) {
	iss := newIssuer(b)
	v := NewVerifier(Config{})
	now := time.Now()
	for _, alg := range []string{"RS256", "ES256"} {
		kid := map[string]string{"RS256": "rsa1", "ES256": "ec1"}[alg]
		tok := iss.sign(b, map[string]any{"alg": alg, "kid": kid}, iss.claims(now), nil)
		b.Run(alg, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				if _, err := v.Parse(ctx, tok, iss.provider()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
