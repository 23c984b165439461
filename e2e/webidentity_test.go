package e2e

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
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// oidcIssuer is a loopback OpenID Connect provider with a self-signed
// certificate, trusted by Bulwark through its IAM thumbprint.
type oidcIssuer struct {
	srv *httptest.Server
	key *rsa.PrivateKey
}

func newOIDCIssuer(t *testing.T) *oidcIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss := &oidcIssuer{key: key}
	enc := base64.RawURLEncoding
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": iss.srv.URL, "jwks_uri": iss.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": enc.EncodeToString(key.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	// Set srv before the server's goroutines start: the handlers read it.
	iss.srv = httptest.NewUnstartedServer(mux) // listens on 127.0.0.1
	iss.srv.StartTLS()
	t.Cleanup(iss.srv.Close)
	return iss
}

func (iss *oidcIssuer) host() string { return strings.TrimPrefix(iss.srv.URL, "https://") }

func (iss *oidcIssuer) thumbprint() string {
	sum := sha1.Sum(iss.srv.Certificate().Raw) //nolint:gosec
	return hex.EncodeToString(sum[:])
}

// token signs an ID token for sub with key (the issuer's, or a forger's).
func (iss *oidcIssuer) token(t *testing.T, key *rsa.PrivateKey, sub string) string {
	t.Helper()
	return iss.tokenExp(t, key, sub, time.Now().Add(10*time.Minute))
}

func (iss *oidcIssuer) tokenExp(t *testing.T, key *rsa.PrivateKey, sub string, exp time.Time) string {
	t.Helper()
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"})
	now := time.Now()
	c, _ := json.Marshal(map[string]any{"iss": iss.srv.URL, "sub": sub, "aud": "my-app", "iat": now.Add(-time.Hour).Unix(), "exp": exp.Unix()})
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	d := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

// TestWebIdentity: a workload holding an ID token from a registered OIDC
// provider assumes a role with the unsigned aws CLI call, exactly as far as
// the role's trust policy allows its subject.
func TestWebIdentity(t *testing.T) {
	s := startServer(t, []string{"BULWARK_ROOT_KEY=" + randomRootKey()})
	root := rootCLI(t, s)
	var id struct{ Account string }
	root.ok(&id, "sts", "get-caller-identity")
	acct := id.Account

	iss := newOIDCIssuer(t)
	host := iss.host()
	var prov struct{ OpenIDConnectProviderArn string }
	root.ok(&prov, "iam", "create-open-id-connect-provider", "--url", iss.srv.URL,
		"--client-id-list", "my-app", "--thumbprint-list", iss.thumbprint())
	providerARN := "arn:aws:iam::" + acct + ":oidc-provider/" + host
	if prov.OpenIDConnectProviderArn != providerARN {
		t.Fatalf("provider ARN %q, want %q", prov.OpenIDConnectProviderArn, providerARN)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + providerARN + `"},` +
		`"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + host + `:sub":"repo:acme/app","` + host + `:aud":"my-app"}}}]}`
	roleARN := "arn:aws:iam::" + acct + ":role/ci-deployer"
	root.ok(nil, "iam", "create-role", "--role-name", "ci-deployer", "--assume-role-policy-document", trust)
	root.ok(nil, "iam", "put-role-policy", "--role-name", "ci-deployer", "--policy-name", "read-self",
		"--policy-document", allow(`"iam:GetRole"`, roleARN))

	anon := &cli{t: t, s: s} // no credentials at all: the CLI sends the call unsigned
	assume := func(token string) []string {
		return []string{"sts", "assume-role-with-web-identity", "--role-arn", roleARN,
			"--role-session-name", "build-42", "--web-identity-token", token}
	}

	t.Run("a valid token for the trusted subject gets a working session", func(t *testing.T) {
		anon.t = t
		var out struct {
			Credentials                                     struct{ AccessKeyId, SecretAccessKey, SessionToken, Expiration string }
			SubjectFromWebIdentityToken, Audience, Provider string
			AssumedRoleUser                                 struct{ Arn, AssumedRoleId string }
		}
		anon.ok(&out, assume(iss.token(t, iss.key, "repo:acme/app"))...)
		wantARN := "arn:aws:sts::" + acct + ":assumed-role/ci-deployer/build-42"
		if out.AssumedRoleUser.Arn != wantARN || out.SubjectFromWebIdentityToken != "repo:acme/app" ||
			out.Audience != "my-app" || out.Provider != providerARN || !strings.HasPrefix(out.Credentials.AccessKeyId, "ASIA") {
			t.Fatalf("unexpected result %+v", out)
		}
		sess := keyCLI(t, s, out.Credentials.AccessKeyId, out.Credentials.SecretAccessKey, out.Credentials.SessionToken)
		var who struct{ Arn string }
		sess.ok(&who, "sts", "get-caller-identity")
		if who.Arn != wantARN {
			t.Fatalf("session is %q, want %q", who.Arn, wantARN)
		}
		sess.ok(nil, "iam", "get-role", "--role-name", "ci-deployer")
		sess.fails("AccessDenied", []string{wantARN, "iam:ListUsers"}, "iam", "list-users")
	})

	t.Run("another subject is refused by the trust policy", func(t *testing.T) {
		anon.t = t
		anon.fails("AccessDenied", []string{"Not authorized to perform sts:AssumeRoleWithWebIdentity"},
			assume(iss.token(t, iss.key, "repo:evil/fork"))...)
	})

	t.Run("a token signed by another key is invalid", func(t *testing.T) {
		anon.t = t
		forger, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		anon.fails("InvalidIdentityToken", nil, assume(iss.token(t, forger, "repo:acme/app"))...)
	})

	t.Run("a token from an unregistered issuer is invalid", func(t *testing.T) {
		anon.t = t
		other := newOIDCIssuer(t)
		anon.fails("InvalidIdentityToken", []string{"No OpenIDConnect provider found"},
			assume(other.token(t, other.key, "repo:acme/app"))...)
	})

	t.Run("aws-sdk-go-v2 without credentials", func(t *testing.T) {
		client := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint), RetryMaxAttempts: 1})
		ctx := context.Background()
		in := func(tok string) *sts.AssumeRoleWithWebIdentityInput {
			return &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("sdk"),
				WebIdentityToken: aws.String(tok), DurationSeconds: aws.Int32(900)}
		}
		out, err := client.AssumeRoleWithWebIdentity(ctx, in(iss.token(t, iss.key, "repo:acme/app")))
		if err != nil {
			t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
		}
		if aws.ToString(out.AssumedRoleUser.Arn) != "arn:aws:sts::"+acct+":assumed-role/ci-deployer/sdk" ||
			time.Until(aws.ToTime(out.Credentials.Expiration)) > 16*time.Minute {
			t.Fatalf("unexpected result %+v %+v", out.AssumedRoleUser, out.Credentials.Expiration)
		}
		_, err = client.AssumeRoleWithWebIdentity(ctx, in(iss.tokenExp(t, iss.key, "repo:acme/app", time.Now().Add(-10*time.Minute))))
		var expired *ststypes.ExpiredTokenException
		if !errors.As(err, &expired) {
			t.Fatalf("expired token: err = %v, want ExpiredTokenException", err)
		}
	})

	t.Run("unsigned calls are audited", func(t *testing.T) {
		var out lookupOut
		root.ok(&out, "cloudtrail", "lookup-events", "--lookup-attributes", "AttributeKey=EventName,AttributeValue=AssumeRoleWithWebIdentity")
		seen := map[string]bool{}
		for _, e := range out.Events {
			var rec struct {
				ErrorCode       string `json:"errorCode"`
				SourceIPAddress string `json:"sourceIPAddress"`
				UserIdentity    struct {
					AccessKeyID string `json:"accessKeyId"`
				} `json:"userIdentity"`
			}
			if err := json.Unmarshal([]byte(e.CloudTrailEvent), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.SourceIPAddress != "127.0.0.1" || rec.UserIdentity.AccessKeyID != "" {
				t.Errorf("unsigned call recorded as %s", e.CloudTrailEvent)
			}
			seen[rec.ErrorCode] = true
		}
		for _, code := range []string{"", "AccessDenied", "InvalidIdentityToken"} {
			if !seen[code] {
				t.Errorf("no audit record of AssumeRoleWithWebIdentity with errorCode %q in %+v", code, out.Events)
			}
		}
	})

	t.Run("other unsigned calls still need a signature", func(t *testing.T) {
		for _, form := range []url.Values{
			{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}},
			{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2010-05-08"}},
			{"Action": {"ListUsers"}, "Version": {"2010-05-08"}},
		} {
			resp, err := http.PostForm(s.Endpoint, form)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "MissingAuthenticationToken") {
				t.Fatalf("unsigned %s: HTTP %d %s", form.Get("Action"), resp.StatusCode, b)
			}
		}
	})
}
