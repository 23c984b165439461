package awsproto

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzDecodeQuery feeds arbitrary form bodies to the query decoder: it
// must never panic, and whatever it accepts has an Action.
func FuzzDecodeQuery(f *testing.F) {
	for _, s := range []string{"Action=GetUser&Version=2010-05-08", "Action=&", "%", "a=b&a=c&Action=X", strings.Repeat("&", 10)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		q, err := DecodeQuery(r, []byte(body))
		if err == nil && q.Action == "" {
			t.Fatal("accepted a request without an Action")
		}
		if err != nil && As(err).Status >= 500 {
			t.Fatalf("server error for client input: %v", err)
		}
	})
}

// FuzzDecodeJSON: never panics, and every failure is a client error.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"SecretId":"x"}`, `[`, `{"a":1e999}`, `"x"`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var in struct {
			SecretId  string
			VersionId *string
			Tags      []struct{ Key, Value string }
			N         int64
		}
		if err := DecodeJSON([]byte(body), &in); err != nil && As(err).Status >= 500 {
			t.Fatalf("server error for client input: %v", err)
		}
	})
}

// FuzzJSONTarget: never panics; accepted targets split into two non-empty parts.
func FuzzJSONTarget(f *testing.F) {
	for _, s := range []string{"secretsmanager.GetSecretValue", "TrentService.Encrypt", "", ".", "a.b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header["X-Amz-Target"] = []string{target}
		p, op, err := JSONTarget(r)
		if err == nil && (p == "" || op == "") {
			t.Fatalf("%q split into %q %q", target, p, op)
		}
	})
}
