package sigv4

import (
	"context"
	"encoding/json"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// suiteCase is one case of testdata/aws-sig-v4-test-suite.json, the AWS
// Signature Version 4 test suite (see the file's "source").
type suiteCase struct {
	Name             string      `json:"name"`
	Method           string      `json:"method"`
	Target           string      `json:"target"`
	Headers          [][2]string `json:"headers"`
	Body             string      `json:"body"`
	Token            string      `json:"token"`
	Normalize        bool        `json:"normalize"`
	CanonicalRequest string      `json:"canonicalRequest"`
	Signature        string      `json:"signature"`
}

func loadSuite(t testing.TB) []suiteCase {
	t.Helper()
	b, err := os.ReadFile("testdata/aws-sig-v4-test-suite.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []suiteCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Cases
}

// request builds the request as a server would see it: the request-target
// verbatim in RequestURI, Host in r.Host.
func (c suiteCase) request(signature string) (*http.Request, []byte) {
	path, query, _ := strings.Cut(c.Target, "?")
	r := &http.Request{
		Method:     c.Method,
		RequestURI: c.Target,
		URL:        &url.URL{Path: path, RawQuery: query},
		Host:       "example.amazonaws.com",
		Header:     http.Header{},
	}
	for _, h := range c.Headers {
		k := textproto.CanonicalMIMEHeaderKey(h[0])
		r.Header[k] = append(r.Header[k], h[1])
	}
	r.ContentLength = int64(len(c.Body))
	r.Header.Set("X-Amz-Date", "20150830T123600Z")
	if c.Token != "" {
		r.Header.Set("X-Amz-Security-Token", c.Token)
	}
	lines := strings.Split(c.CanonicalRequest, "\n")
	signed := lines[len(lines)-2]
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders="+
		signed+", Signature="+signature)
	var body []byte
	if c.Body != "" {
		body = []byte(c.Body)
	}
	return r, body
}

func TestAWSTestSuite(t *testing.T) {
	now := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	v := newTestVerifier(t, now)
	for _, c := range loadSuite(t) {
		t.Run(c.Name, func(t *testing.T) {
			r, body := c.request(c.Signature)
			p, err := Parse(r)
			if err != nil {
				t.Fatal(err)
			}

			// The canonical request, byte for byte.
			lines := strings.Split(c.CanonicalRequest, "\n")
			in := signingInput{path: wirePath(r), signedHeaders: p.SignedHeaders, signedHeadersRaw: p.signedHeadersRaw,
				payloadHash: []byte(lines[len(lines)-1])}
			if c.Normalize {
				in.path, _ = normalizePath(in.path)
			}
			if got := string(appendCanonicalRequest(nil, r, &in)); got != c.CanonicalRequest {
				t.Errorf("canonical request\n got %q\nwant %q", got, c.CanonicalRequest)
			}

			if err := v.Verify(context.Background(), p, r, body); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			bad := []byte(c.Signature)
			bad[0] ^= 1
			r, body = c.request(string(bad))
			if err := verifyRequest(v, r, body); codeOf(err) != CodeSignatureDoesNotMatch {
				t.Fatalf("altered signature: %v", err)
			}
		})
	}
}
