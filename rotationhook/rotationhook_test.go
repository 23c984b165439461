package rotationhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var key = []byte("0123456789abcdef0123456789abcdef")

const body = `{"SecretId":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf","ClientRequestToken":"0d1b4c83-3f5b-4c5e-9f0e-1f7a2b3c4d5e","Step":"createSecret"}`

func signed(at time.Time, b string) http.Header {
	h := http.Header{}
	ts, sig := Sign(key, at, []byte(b))
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, sig)
	return h
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name   string
		header func() http.Header
		body   string
		key    []byte
		want   error
	}{
		{"valid", func() http.Header { return signed(now, body) }, body, key, nil},
		{"valid, clock behind", func() http.Header { return signed(now.Add(4*time.Minute), body) }, body, key, nil},
		{"unsigned", func() http.Header { return http.Header{} }, body, key, ErrNoSignature},
		{"other key", func() http.Header { return signed(now, body) }, body, []byte("another key of 32 bytes........."), ErrBadSignature},
		{"tampered body", func() http.Header { return signed(now, body) }, strings.Replace(body, "create", "finish", 1), key, ErrBadSignature},
		{"old", func() http.Header { return signed(now.Add(-6*time.Minute), body) }, body, key, ErrStale},
		{"future", func() http.Header { return signed(now.Add(6*time.Minute), body) }, body, key, ErrStale},
		{"timestamp changed", func() http.Header {
			h := signed(now, body)
			h.Set(HeaderTimestamp, "1800000001")
			return h
		}, body, key, ErrBadSignature},
		{"no version prefix", func() http.Header {
			h := signed(now, body)
			h.Set(HeaderSignature, strings.TrimPrefix(h.Get(HeaderSignature), "v1="))
			return h
		}, body, key, ErrBadSignature},
		{"not hex", func() http.Header {
			h := signed(now, body)
			h.Set(HeaderSignature, "v1=zz")
			return h
		}, body, key, ErrBadSignature},
		{"bad timestamp", func() http.Header {
			h := signed(now, body)
			h.Set(HeaderTimestamp, "soon")
			return h
		}, body, key, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.key, tt.header(), []byte(tt.body), now)
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	var got Event
	h := Handler(key, func(_ context.Context, ev Event) error {
		got = ev
		if ev.Step == StepTest {
			return errors.New("login failed")
		}
		return nil
	})
	do := func(b string, hdr http.Header) int {
		r := httptest.NewRequest(http.MethodPost, "/rotate", strings.NewReader(b))
		for k, v := range hdr {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	if code := do(body, signed(time.Now(), body)); code != http.StatusNoContent || got.Step != StepCreate {
		t.Errorf("signed call: %d, %+v", code, got)
	}
	if code := do(body, http.Header{}); code != http.StatusUnauthorized {
		t.Errorf("unsigned call: %d, want 401", code)
	}
	test := strings.Replace(body, "createSecret", "testSecret", 1)
	if code := do(test, signed(time.Now(), test)); code != http.StatusInternalServerError {
		t.Errorf("failing step: %d, want 500", code)
	}
	bad := strings.Replace(body, "createSecret", "dropTables", 1)
	if code := do(bad, signed(time.Now(), bad)); code != http.StatusBadRequest {
		t.Errorf("unknown step: %d, want 400", code)
	}
	extra := `{"SecretId":"x","ClientRequestToken":"y","Step":"setSecret","Evil":1}`
	if code := do(extra, signed(time.Now(), extra)); code != http.StatusBadRequest {
		t.Errorf("unknown field: %d, want 400", code)
	}
	big := `{"SecretId":"` + strings.Repeat("a", MaxBody) + `"}`
	if code := do(big, signed(time.Now(), big)); code != http.StatusBadRequest {
		t.Errorf("oversized body: %d, want 400", code)
	}
}

func FuzzVerify(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	h := signed(now, body)
	f.Add(h.Get(HeaderTimestamp), h.Get(HeaderSignature), []byte(body))
	f.Add("1800000000", "v1=", []byte{})
	f.Add("-1", "v1=00", []byte("{}"))
	f.Fuzz(func(t *testing.T, ts, sig string, b []byte) {
		hdr := http.Header{}
		hdr.Set(HeaderTimestamp, ts)
		hdr.Set(HeaderSignature, sig)
		err := Verify(key, hdr, b, now)
		if err == nil {
			// Only a real signature of these bytes verifies.
			if _, want := Sign(key, now, b); ts == "1800000000" && sig != want {
				t.Fatalf("forged signature %q accepted", sig)
			}
		}
	})
}
