package sigv4

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const stsBody = "Action=GetCallerIdentity&Version=2011-06-15"

func stsRequest(t testing.TB) (*http.Request, []byte) {
	t.Helper()
	r, err := http.NewRequest("POST", "https://sts.bulwark.test/", strings.NewReader(stsBody))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return r, []byte(stsBody)
}

// signed returns the STS request signed with Sign.
func signed(t testing.TB, akid, secret, token, region, service string, at time.Time, mod ...func(*http.Request)) (*http.Request, []byte) {
	t.Helper()
	r, body := stsRequest(t)
	for _, m := range mod {
		m(r)
	}
	if err := Sign(r, body, akid, []byte(secret), token, region, service, at); err != nil {
		t.Fatal(err)
	}
	return r, body
}

func okSTS(t testing.TB, mod ...func(*http.Request)) (*http.Request, []byte) {
	return signed(t, testAKID, testSecret, "", "us-east-1", "sts", t0, mod...)
}

// signCustom signs r with exactly the given signed headers and time string,
// so that a test can build requests Sign would refuse to make.
func signCustom(r *http.Request, body []byte, names []string, amzDate string) {
	scope := amzDate[:8] + "/us-east-1/sts/aws4_request"
	payload := hexSHA256(body)
	in := signingInput{path: wirePath(r), signedHeaders: names, signedHeadersRaw: strings.Join(names, ";"),
		amzDate: amzDate, scope: scope, payloadHash: payload[:]}
	key := deriveKey([]byte(testSecret), amzDate[:8], "us-east-1", "sts")
	sig, _ := signature(&key, r, &in, nil)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAKID+"/"+scope+", SignedHeaders="+in.signedHeadersRaw+
		", Signature="+hex.EncodeToString(sig[:]))
}

func editAuth(r *http.Request, old, new string) {
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
}

func presigned(t testing.TB, expires time.Duration, edit func(q url.Values)) (*http.Request, []byte) {
	t.Helper()
	r, _ := http.NewRequest("GET", "https://sts.bulwark.test/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	u, err := Presign(r, nil, testAKID, []byte(testSecret), "", "us-east-1", "sts", t0, expires)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		pu, _ := url.Parse(u)
		q := pu.Query()
		edit(q)
		pu.RawQuery = q.Encode()
		u = pu.String()
	}
	pr, _ := http.NewRequest("GET", u, nil)
	return pr, nil
}

var errStoreDown = errors.New("store unavailable")

// verifyCase is one named failure mode (or success) of Parse and Verify.
type verifyCase struct {
	name   string
	build  func(t testing.TB) (*http.Request, []byte)
	cfg    func(*Config)
	now    time.Time // zero: t0
	code   string    // "" for success
	status int
	msg    string // exact message when it starts with "=", else a substring
}

// verifyCases is the table of TestVerifyErrors; FuzzVerify starts from it.
func verifyCases() []verifyCase {
	sha := func(s string) string { return sha256Hex([]byte(s)) }
	return []verifyCase{
		// Parse: missing and malformed authentication.
		{name: "missing authentication", build: func(t testing.TB) (*http.Request, []byte) { return stsRequest(t) },
			code: CodeMissingAuthenticationToken, status: 403, msg: "=Request is missing Authentication Token"},
		{name: "malformed: component without equal sign", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			editAuth(r, "Credential=", "Credential")
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "not a valid key=value pair (missing equal-sign)"},
		{name: "missing Credential", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			editAuth(r, "Credential=", "Cred=")
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "=Authorization header requires 'Credential' parameter."},
		{name: "missing SignedHeaders", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			editAuth(r, "SignedHeaders=", "Signed=")
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "=Authorization header requires 'SignedHeaders' parameter."},
		{name: "missing Signature", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			editAuth(r, "Signature=", "Sig=")
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "=Authorization header requires 'Signature' parameter."},
		{name: "missing everything", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := stsRequest(t)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256")
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "=Authorization header requires 'Credential' parameter. " +
			"Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. " +
			"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."},
		{name: "not sigv4 (bearer token)", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := stsRequest(t)
			r.Header.Set("Authorization", "Bearer eyJhbGciOi.secret.token")
			r.Header.Set("X-Amz-Date", "20260101T000000Z")
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "requires 'Credential' parameter"},
		{name: "unsupported algorithm", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			editAuth(r, "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256")
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "=Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256'."},
		{name: "both header and query authentication", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256"
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "Only one auth mechanism allowed"},
		{name: "two Authorization headers", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			r.Header.Add("Authorization", r.Header.Get("Authorization"))
			return r, b
		}, code: CodeIncompleteSignature, status: 400},
		{name: "duplicate Signature parameter", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			r.Header.Set("Authorization", r.Header.Get("Authorization")+", Signature=00")
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "more than one 'Signature'"},
		{name: "credential with too few parts", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			editAuth(r, "/sts/aws4_request", "")
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "Credential should be of the form"},
		{name: "empty access key id", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			editAuth(r, testAKID, "")
			return r, b
		}, code: CodeIncompleteSignature, status: 400},
		{name: "X-Amz-Date not ISO 8601 basic", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			r.Header.Set("X-Amz-Date", "2026-01-01T00:00:00Z")
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "Date must be in ISO-8601 'basic format'"},
		{name: "too many signed headers", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			editAuth(r, "SignedHeaders=", "SignedHeaders="+strings.Repeat("x;", maxSignedHeaders))
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "Too many signed headers"},
		{name: "too many query parameters", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			r.URL.RawQuery = strings.Repeat("a=1&", maxQueryParams)
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "more than 10000 parameters"},
		{name: "empty signed header name", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			editAuth(r, "SignedHeaders=", "SignedHeaders=;")
			return r, b
		}, code: CodeIncompleteSignature, status: 400},

		// Credential scope.
		{name: "bad scope terminator", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			editAuth(r, "aws4_request", "aws5_request")
			return r, b
		}, code: CodeSignatureDoesNotMatch, status: 403,
			msg: "=Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."},
		{name: "wrong service in scope", build: func(t testing.TB) (*http.Request, []byte) {
			return signed(t, testAKID, testSecret, "", "us-east-1", "ec2", t0)
		}, cfg: func(c *Config) { c.Services = []string{"sts", "iam"} },
			code: CodeSignatureDoesNotMatch, status: 403, msg: "Credential should be scoped to correct service"},
		{name: "wrong region in scope", build: func(t testing.TB) (*http.Request, []byte) {
			return signed(t, testAKID, testSecret, "", "eu-west-1", "sts", t0)
		}, code: CodeSignatureDoesNotMatch, status: 403, msg: "=Credential should be scoped to a valid region, not 'eu-west-1'."},
		{name: "iam is global: us-east-1 accepted in another region", build: func(t testing.TB) (*http.Request, []byte) {
			return signed(t, testAKID, testSecret, "", "us-east-1", "iam", t0)
		}, cfg: func(c *Config) { c.Region = "eu-west-1" }},
		{name: "sts is regional: us-east-1 refused in another region", build: func(t testing.TB) (*http.Request, []byte) {
			return signed(t, testAKID, testSecret, "", "us-east-1", "sts", t0)
		}, cfg: func(c *Config) { c.Region = "eu-west-1" }, code: CodeSignatureDoesNotMatch, status: 403},
		{name: "scope date differs from X-Amz-Date", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			editAuth(r, "/20260101/", "/20251231/")
			return r, b
		}, code: CodeSignatureDoesNotMatch, status: 403,
			msg: "=Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20251231' != '20260101', from '20260101T000000Z'."},

		// Headers that must be signed.
		{name: "host not signed", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := stsRequest(t)
			r.Header.Set("X-Amz-Date", "20260101T000000Z")
			signCustom(r, b, []string{"content-type", "x-amz-date"}, "20260101T000000Z")
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "=" + msgHostNotSigned},
		{name: "x-amz-date not signed", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := stsRequest(t)
			r.Header.Set("X-Amz-Date", "20260101T000000Z")
			signCustom(r, b, []string{"content-type", "host"}, "20260101T000000Z")
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "'X-Amz-Date' must be a 'SignedHeader'"},
		{name: "security token not signed", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := stsRequest(t)
			r.Header.Set("X-Amz-Date", "20260101T000000Z")
			r.Header.Set("X-Amz-Security-Token", testToken)
			signCustom(r, b, []string{"host", "x-amz-date"}, "20260101T000000Z")
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "'X-Amz-Security-Token' must be a 'SignedHeader'"},
		{name: "Date header instead of X-Amz-Date", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := stsRequest(t)
			r.Header.Set("Date", "Thu, 01 Jan 2026 00:00:00 GMT")
			signCustom(r, b, []string{"content-type", "date", "host"}, "20260101T000000Z")
			return r, b
		}},
		{name: "Date header not signed", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := stsRequest(t)
			r.Header.Set("Date", "Thu, 01 Jan 2026 00:00:00 GMT")
			signCustom(r, b, []string{"content-type", "host"}, "20260101T000000Z")
			return r, b
		}, code: CodeIncompleteSignature, status: 400, msg: "'Date' must be a 'SignedHeader'"},

		// Clock skew (header authentication).
		{name: "skew: signed 16 minutes ago", build: func(t testing.TB) (*http.Request, []byte) { return okSTS(t) },
			now: t0.Add(16 * time.Minute), code: CodeSignatureDoesNotMatch, status: 403,
			msg: "=Signature expired: 20260101T000000Z is now earlier than 20260101T000100Z (20260101T001600Z - 15 min.)"},
		{name: "skew: signed 16 minutes in the future", build: func(t testing.TB) (*http.Request, []byte) { return okSTS(t) },
			now: t0.Add(-16 * time.Minute), code: CodeSignatureDoesNotMatch, status: 403,
			msg: "=Signature not yet current: 20260101T000000Z is still later than 20251231T235900Z (20251231T234400Z + 15 min.)"},
		{name: "skew: 14 minutes old is fine", build: func(t testing.TB) (*http.Request, []byte) { return okSTS(t) },
			now: t0.Add(14 * time.Minute)},
		{name: "skew: 14 minutes ahead is fine", build: func(t testing.TB) (*http.Request, []byte) { return okSTS(t) },
			now: t0.Add(-14 * time.Minute)},

		// Presigned URLs.
		{name: "presigned valid", build: func(t testing.TB) (*http.Request, []byte) { return presigned(t, time.Minute, nil) },
			now: t0.Add(59 * time.Second)},
		{name: "presigned expired", build: func(t testing.TB) (*http.Request, []byte) { return presigned(t, time.Minute, nil) },
			now: t0.Add(61 * time.Second), code: CodeRequestExpired, status: 400, msg: "=Request has expired"},
		{name: "presigned not yet valid", build: func(t testing.TB) (*http.Request, []byte) { return presigned(t, time.Hour, nil) },
			now: t0.Add(-16 * time.Minute), code: CodeSignatureDoesNotMatch, status: 403, msg: "Signature not yet current"},
		{name: "presigned X-Amz-Expires over 604800", build: func(t testing.TB) (*http.Request, []byte) {
			return presigned(t, time.Minute, func(q url.Values) { q.Set("X-Amz-Expires", "604801") })
		}, code: CodeIncompleteSignature, status: 400, msg: "=X-Amz-Expires must be less than a week (in seconds) that is 604800"},
		{name: "presigned X-Amz-Expires huge", build: func(t testing.TB) (*http.Request, []byte) {
			return presigned(t, time.Minute, func(q url.Values) { q.Set("X-Amz-Expires", "99999999999999999999999") })
		}, code: CodeIncompleteSignature, status: 400, msg: "less than a week"},
		{name: "presigned X-Amz-Expires not a number", build: func(t testing.TB) (*http.Request, []byte) {
			return presigned(t, time.Minute, func(q url.Values) { q.Set("X-Amz-Expires", "soon") })
		}, code: CodeIncompleteSignature, status: 400, msg: "=X-Amz-Expires should be a number"},
		{name: "presigned X-Amz-Expires negative", build: func(t testing.TB) (*http.Request, []byte) {
			return presigned(t, time.Minute, func(q url.Values) { q.Set("X-Amz-Expires", "-1") })
		}, code: CodeIncompleteSignature, status: 400, msg: "non-negative"},
		{name: "presigned missing signature", build: func(t testing.TB) (*http.Request, []byte) {
			return presigned(t, time.Minute, func(q url.Values) { q.Del("X-Amz-Signature") })
		}, code: CodeIncompleteSignature, status: 400, msg: "AWS query-string parameters must include"},
		{name: "presigned wrong algorithm", build: func(t testing.TB) (*http.Request, []byte) {
			return presigned(t, time.Minute, func(q url.Values) { q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA1") })
		}, code: CodeIncompleteSignature, status: 400, msg: `X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`},
		{name: "presigned parameter changed", build: func(t testing.TB) (*http.Request, []byte) {
			return presigned(t, time.Minute, func(q url.Values) { q.Set("Action", "GetSessionToken") })
		}, code: CodeSignatureDoesNotMatch, status: 403},

		// Keys and tokens.
		{name: "unknown access key", build: func(t testing.TB) (*http.Request, []byte) {
			return signed(t, "AKIDUNKNOWN000000000", testSecret, "", "us-east-1", "sts", t0)
		}, code: CodeInvalidClientTokenID, status: 403, msg: "=The security token included in the request is invalid."},
		{name: "wrong secret", build: func(t testing.TB) (*http.Request, []byte) {
			return signed(t, testAKID, testSecret+"x", "", "us-east-1", "sts", t0)
		}, code: CodeSignatureDoesNotMatch, status: 403, msg: "=" + msgSignatureMismatch},
		{name: "session token valid", build: func(t testing.TB) (*http.Request, []byte) {
			return signed(t, tempAKID, tempSecret, testToken, "us-east-1", "sts", t0)
		}},
		{name: "expired session token", build: func(t testing.TB) (*http.Request, []byte) {
			return signed(t, tempAKID, tempSecret, testToken, "us-east-1", "sts", t0)
		}, cfg: func(c *Config) { c.Credentials.(*memCreds).expired[tempAKID] = true },
			code: CodeExpiredToken, status: 403, msg: "=The security token included in the request is expired"},
		{name: "wrong session token", build: func(t testing.TB) (*http.Request, []byte) {
			return signed(t, tempAKID, tempSecret, testToken+"x", "us-east-1", "sts", t0)
		}, code: CodeInvalidClientTokenID, status: 403},
		{name: "temporary key without its token", build: func(t testing.TB) (*http.Request, []byte) {
			return signed(t, tempAKID, tempSecret, "", "us-east-1", "sts", t0)
		}, code: CodeInvalidClientTokenID, status: 403},
		{name: "credentials store failure is internal", build: func(t testing.TB) (*http.Request, []byte) { return okSTS(t) },
			cfg: func(c *Config) { c.Credentials.(*memCreds).fail = errStoreDown }, code: "internal"},

		// Payload and signature.
		{name: "content hash mismatch", build: func(t testing.TB) (*http.Request, []byte) {
			return okSTS(t, func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", sha("something else")) })
		}, code: CodeContentSHA256Mismatch, status: 400, msg: "=" + msgContentMismatch},
		{name: "content hash matches", build: func(t testing.TB) (*http.Request, []byte) {
			return okSTS(t, func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", sha(stsBody)) })
		}},
		{name: "unsigned payload: body not covered", build: func(t testing.TB) (*http.Request, []byte) {
			r, _ := okSTS(t, func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") })
			return r, []byte("Action=CreateUser")
		}},
		{name: "body changed", build: func(t testing.TB) (*http.Request, []byte) {
			r, _ := okSTS(t)
			return r, []byte("Action=GetCallerIdentity&Version=2011-06-16")
		}, code: CodeSignatureDoesNotMatch, status: 403},
		{name: "streaming payload refused", build: func(t testing.TB) (*http.Request, []byte) {
			return okSTS(t, func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") })
		}, code: CodeIncompleteSignature, status: 400},
		{name: "signature not hex", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-64]+strings.Repeat("z", 64))
			return r, b
		}, code: CodeSignatureDoesNotMatch, status: 403},
		{name: "signature truncated", build: func(t testing.TB) (*http.Request, []byte) {
			r, b := okSTS(t)
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-1])
			return r, b
		}, code: CodeSignatureDoesNotMatch, status: 403},
	}
}

func TestVerifyErrors(t *testing.T) {
	for _, c := range verifyCases() {
		t.Run(c.name, func(t *testing.T) {
			now := c.now
			if now.IsZero() {
				now = t0
			}
			v := newTestVerifier(t, now, func(cfg *Config) {
				if c.cfg != nil {
					c.cfg(cfg)
				}
			})
			r, body := c.build(t)
			err := verifyRequest(v, r, body)
			if got := codeOf(err); got != c.code {
				t.Fatalf("code %q (%v), want %q", got, err, c.code)
			}
			if c.code == "internal" && !errors.Is(err, errStoreDown) {
				t.Fatalf("internal error %v does not wrap the cause", err)
			}
			var e *Error
			if !errors.As(err, &e) {
				return
			}
			if e.Status != c.status {
				t.Errorf("status %d, want %d", e.Status, c.status)
			}
			if want, exact := strings.CutPrefix(c.msg, "="); exact && e.Message != want {
				t.Errorf("message\n got %q\nwant %q", e.Message, want)
			} else if !exact && !strings.Contains(e.Message, c.msg) {
				t.Errorf("message %q does not contain %q", e.Message, c.msg)
			}
			for _, secret := range []string{testSecret, testToken, "secret.token"} {
				if strings.Contains(e.Message, secret) {
					t.Errorf("message leaks a secret: %q", e.Message)
				}
			}
		})
	}
}

func TestSecretRotationDoesNotReuseCachedKey(t *testing.T) {
	creds := newMemCreds()
	v, err := NewVerifier(Config{Credentials: creds, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	r, body := okSTS(t)
	if err := verifyRequest(v, r, body); err != nil {
		t.Fatal(err)
	}
	creds.keys[testAKID] = "rotated-secret"
	r, body = okSTS(t)
	if err := verifyRequest(v, r, body); codeOf(err) != CodeSignatureDoesNotMatch {
		t.Fatalf("old secret after rotation: %v", err)
	}
	r, body = signed(t, testAKID, "rotated-secret", "", "us-east-1", "sts", t0)
	if err := verifyRequest(v, r, body); err != nil {
		t.Fatalf("new secret: %v", err)
	}
}

func TestKeyCacheBounded(t *testing.T) {
	c := newKeyCache(32)
	for i := range 1000 {
		id := "AKID" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "/20260101/us-east-1/sts" + string(rune(i))
		c.signingKey(id, []byte("s"), "20260101", "us-east-1", "sts")
	}
	n := 0
	for i := range c.shards {
		n += len(c.shards[i].cur) + len(c.shards[i].old)
	}
	if n > 2*32 {
		t.Fatalf("cache holds %d entries, bound is %d", n, 2*32)
	}
	if deriveKey([]byte("s"), "20260101", "us-east-1", "sts") != c.signingKey("fresh", []byte("s"), "20260101", "us-east-1", "sts") {
		t.Fatal("cached key differs from derived key")
	}
}

func TestNewVerifierRequiresCredentials(t *testing.T) {
	if _, err := NewVerifier(Config{}); err == nil {
		t.Fatal("NewVerifier without Credentials succeeded")
	}
}

func TestVerifyWithoutParse(t *testing.T) {
	v := newTestVerifier(t, t0)
	r, body := okSTS(t)
	if err := v.Verify(context.Background(), &Parsed{AccessKeyID: testAKID}, r, body); codeOf(err) != CodeIncompleteSignature {
		t.Fatalf("hand-built Parsed: %v", err)
	}
	if err := v.Verify(context.Background(), nil, r, body); codeOf(err) != CodeIncompleteSignature {
		t.Fatalf("nil Parsed: %v", err)
	}
}

func TestJSONProtocolSpelling(t *testing.T) {
	cases := []struct {
		err    *Error
		code   string
		status int
	}{
		{errInvalidClientToken(), "UnrecognizedClientException", 400},
		{errMismatch(msgSignatureMismatch), "InvalidSignatureException", 400},
		{errIncomplete("x"), "IncompleteSignatureException", 400},
		{errMissingAuth(), "MissingAuthenticationTokenException", 403},
		{errExpiredToken(), "ExpiredTokenException", 403},
		{errRequestExpired(msgPresignExpired), CodeRequestExpired, 400},
	}
	for _, c := range cases {
		if code, status := c.err.JSON(); code != c.code || status != c.status {
			t.Errorf("%s: JSON() = %s %d, want %s %d", c.err.Code, code, status, c.code, c.status)
		}
	}
}

func TestParsedNeverPrintsSecrets(t *testing.T) {
	r, _ := signed(t, tempAKID, tempSecret, testToken, "us-east-1", "sts", t0)
	p, err := Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("request", "parsed", p)
	for _, out := range []string{fmt.Sprint(p), fmt.Sprintf("%v %+v %s %#v", p, p, p, p), logged.String()} {
		if strings.Contains(out, p.Signature) || strings.Contains(out, testToken) {
			t.Errorf("output leaks the signature or token: %s", out)
		}
		if !strings.Contains(out, tempAKID) {
			t.Errorf("output lacks the access key id: %s", out)
		}
	}
}

// TestConcurrentVerify runs many keys, dates and a rotation at once through
// one Verifier (run with -race).
func TestConcurrentVerify(t *testing.T) {
	creds := newMemCreds()
	for i := range 8 {
		creds.keys[fmt.Sprintf("AKIDCONCURRENT%06d", i)] = fmt.Sprintf("secret-%d", i)
	}
	v, err := NewVerifier(Config{Credentials: creds, Now: func() time.Time { return t0 }, KeyCacheSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 16)
	for g := range 16 {
		go func() {
			for i := range 50 {
				k := (g + i) % 8
				at := t0.Add(-time.Duration(i%3) * time.Minute)
				r, body := signed(t, fmt.Sprintf("AKIDCONCURRENT%06d", k), fmt.Sprintf("secret-%d", k), "", "us-east-1", "sts", at)
				if err := verifyRequest(v, r, body); err != nil {
					done <- err
					return
				}
				r, body = signed(t, fmt.Sprintf("AKIDCONCURRENT%06d", k), "wrong", "", "us-east-1", "sts", at)
				if err := verifyRequest(v, r, body); codeOf(err) != CodeSignatureDoesNotMatch {
					done <- fmt.Errorf("wrong secret: %v", err)
					return
				}
			}
			done <- nil
		}()
	}
	for range 16 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
