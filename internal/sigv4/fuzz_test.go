package sigv4

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// fuzzSeeds are real authentication values to start from.
func fuzzSeeds(t testing.TB) (auth, query string) {
	r, _ := okSTS(t)
	p, _ := presigned(t, time.Minute, nil)
	return r.Header.Get("Authorization"), p.URL.RawQuery
}

func FuzzParse(f *testing.F) {
	auth, query := fuzzSeeds(f)
	f.Add(auth, "", "20260101T000000Z", "", "")
	f.Add("", query, "", "", "")
	f.Add("AWS4-HMAC-SHA256", "", "", "", "")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00", "", "x", "Thu, 01 Jan 2026 00:00:00 GMT", "tok")
	f.Add("Bearer abc", "X-Amz-Algorithm=x&X-Amz-Expires=99999999999999999999", "", "", "")
	f.Add(",,,=,Credential==,", "X-Amz-Credential=%zz&X-Amz-Credential=1", "", "", "")
	f.Fuzz(func(t *testing.T, auth, rawQuery, xAmzDate, date, token string) {
		r := &http.Request{Method: "POST", URL: &url.URL{Path: "/", RawQuery: rawQuery}, Header: http.Header{}, Host: "h"}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if xAmzDate != "" {
			r.Header.Set("X-Amz-Date", xAmzDate)
		}
		if date != "" {
			r.Header.Set("Date", date)
		}
		if token != "" {
			r.Header.Set("X-Amz-Security-Token", token)
		}
		start := time.Now()
		p, err := Parse(r)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Parse took %v", d)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Status != 400 && e.Status != 403) {
				t.Fatalf("error %v is not a client *Error", err)
			}
			if token != "" && len(token) > 8 && strings.Contains(e.Message, token) {
				t.Fatalf("message echoes the token: %q", e.Message)
			}
			return
		}
		if p.AccessKeyID == "" || p.Date == "" || p.Region == "" || p.Service == "" || p.Signature == "" {
			t.Fatalf("parsed with empty fields: %+v", p)
		}
		if len(p.SignedHeaders) == 0 || len(p.SignedHeaders) > maxSignedHeaders {
			t.Fatalf("%d signed headers", len(p.SignedHeaders))
		}
		if p.Presigned == (auth != "") {
			t.Fatalf("presigned=%v with auth header %q", p.Presigned, auth)
		}
		if p.Expires < 0 || p.Expires > MaxPresignExpires {
			t.Fatalf("expires %v", p.Expires)
		}
		if len(p.amzDate) != len(amzDateLayout) {
			t.Fatalf("amzDate %q", p.amzDate)
		}
	})
}

// FuzzVerify checks that Parse and Verify never panic and only return client
// errors on arbitrary requests, starting from correctly signed ones.
func FuzzVerify(f *testing.F) {
	r, body := okSTS(f)
	auth := r.Header.Get("Authorization")
	_, query := fuzzSeeds(f)
	f.Add("POST", "/", auth, "20260101T000000Z", "", "", "x-value", body)
	f.Add("GET", "/?"+query, "", "", "", "", "", []byte(nil))
	f.Add("GET", "/a%2Fb//./../c?x=1&x=&y", auth, "20260101T000000Z", testToken, "UNSIGNED-PAYLOAD", " a  b ", []byte("{}"))
	f.Add("PUT", "*", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/sts/aws4_request, SignedHeaders=host;x-amz-date;x-fuzz;content-length;transfer-encoding, Signature=ab",
		"20260101T000000Z", "", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", "v", []byte("body"))
	for _, c := range verifyCases() {
		r, body := c.build(f)
		f.Add(r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), r.Header.Get("X-Amz-Date"),
			r.Header.Get("X-Amz-Security-Token"), r.Header.Get("X-Amz-Content-Sha256"), "", body)
	}
	v := newTestVerifier(f, t0)
	f.Fuzz(func(t *testing.T, method, target, auth, xAmzDate, token, contentSHA, hdr string, body []byte) {
		r := &http.Request{Method: method, RequestURI: target, Header: http.Header{}, Host: "sts.bulwark.test", ContentLength: -1}
		if u, err := url.ParseRequestURI(target); err == nil {
			r.URL = u
		} else {
			r.URL = &url.URL{Path: "/"}
		}
		for k, val := range map[string]string{"Authorization": auth, "X-Amz-Date": xAmzDate, "X-Amz-Security-Token": token,
			"X-Amz-Content-Sha256": contentSHA, "X-Fuzz": hdr} {
			if val != "" {
				r.Header.Set(k, val)
			}
		}
		p, err := Parse(r)
		if err != nil {
			return
		}
		err = v.Verify(context.Background(), p, r, body)
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("Verify returned a non-client error: %v", err)
		}
	})
}

// FuzzSDKRoundTrip signs arbitrary requests with aws-sdk-go-v2 and checks
// that they verify.
func FuzzSDKRoundTrip(f *testing.F) {
	f.Add("POST", "/", "Action=GetCallerIdentity", "application/json", []byte("{}"))
	f.Add("GET", "/a b/ü/%zz/./..//", "a=1&a=&b&c=%20+%2B&%E1%88%B4=1", "  x   y  ", []byte(nil))
	f.Add("DELETE", "/!$&'()*+,;=:@", "z=1&y=2;x=3", "v", []byte("x"))
	v := newTestVerifier(f, t0)
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	f.Fuzz(func(t *testing.T, method, path, rawQuery, hdr string, body []byte) {
		if !validToken(method) || !strings.HasPrefix(path, "/") || !validHeaderValue(hdr) || len(path)+len(rawQuery) > 4096 {
			return
		}
		r, err := http.NewRequest(method, "https://sts.bulwark.test/", nil)
		if err != nil {
			return
		}
		r.URL.Path, r.URL.RawQuery = path, rawQuery
		r.ContentLength = int64(len(body))
		if hdr != "" {
			r.Header.Set("X-Fuzz", hdr)
		}
		if err := signer.SignHTTP(context.Background(), creds, r, sha256Hex(body), "sts", "us-east-1", t0); err != nil {
			return
		}
		if err := verifyRequest(v, r, body); err != nil {
			t.Fatalf("SDK-signed request does not verify: %v (method %q path %q query %q header %q)",
				err, method, r.URL.EscapedPath(), r.URL.RawQuery, hdr)
		}
	})
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
