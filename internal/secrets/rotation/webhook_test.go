package rotation

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/rotationhook"
)

var hookKey = []byte("k0123456789abcdef0123456789abcde")

// tlsHook starts a loopback TLS endpoint that verifies each call and
// answers with answer(n) for the n-th call (from 1).
func tlsHook(t *testing.T, answer func(n int64, ev rotationhook.Event) int) (url, caPEM string, calls *atomic.Int64) {
	t.Helper()
	calls = new(atomic.Int64)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ev, err := rotationhook.ParseRequest(hookKey, r, time.Now())
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		code := answer(calls.Add(1), ev)
		w.WriteHeader(code)
		w.Write([]byte(strings.Repeat("x", 10000)))
	}))
	t.Cleanup(srv.Close)
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	return srv.URL + "/rotate", ca, calls
}

func fastClient() *WebhookClient {
	return &WebhookClient{Timeout: 2 * time.Second, Attempts: 3, Backoff: func(int) time.Duration { return 10 * time.Millisecond }}
}

func stepReq(step string) StepRequest {
	return StepRequest{SecretARN: "arn:aws:secretsmanager:us-east-1:" + acct + ":secret:db-AbCdEf", Token: tok1, Step: step}
}

func TestWebhookStep(t *testing.T) {
	tests := []struct {
		name      string
		answer    func(n int64) int
		wantErr   string
		wantCalls int64
	}{
		{"ok", func(int64) int { return 204 }, "", 1},
		{"retried 500 then ok", func(n int64) int { return map[bool]int{true: 500, false: 200}[n < 3] }, "", 3},
		{"429 retried", func(n int64) int { return map[bool]int{true: 429, false: 200}[n < 2] }, "", 2},
		{"500 every time", func(int64) int { return 503 }, "503", 3},
		{"400 not retried", func(int64) int { return 400 }, "400 Bad Request: xxxx", 1},
		{"redirect not followed", func(int64) int { return 307 }, "307", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, ca, calls := tlsHook(t, func(n int64, ev rotationhook.Event) int {
				if ev.Step != store.StepSet || ev.ClientRequestToken != tok1 {
					return 418
				}
				return tt.answer(n)
			})
			w, err := fastClient().rotator(url, ca, hookKey)
			if err != nil {
				t.Fatal(err)
			}
			err = w.Step(t.Context(), stepReq(store.StepSet))
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Step = %v, want error containing %q", err, tt.wantErr)
			}
			if err != nil && len(err.Error()) > 400 {
				t.Errorf("error keeps %d bytes of the answer", len(err.Error()))
			}
			if calls.Load() != tt.wantCalls {
				t.Errorf("%d calls, want %d", calls.Load(), tt.wantCalls)
			}
		})
	}
}

func TestWebhookTLS(t *testing.T) {
	url, _, calls := tlsHook(t, func(int64, rotationhook.Event) int { return 204 })
	w, err := fastClient().rotator(url, "", hookKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Step(t.Context(), stepReq(store.StepCreate)); err == nil || calls.Load() != 0 {
		t.Errorf("untrusted certificate: Step = %v after %d calls, want a TLS failure", err, calls.Load())
	}
	// The wrong key: the endpoint refuses with 401, not retried.
	url2, ca2, calls2 := tlsHook(t, func(int64, rotationhook.Event) int { return 204 })
	w2, _ := fastClient().rotator(url2, ca2, []byte("not the key"))
	if err := w2.Step(t.Context(), stepReq(store.StepCreate)); err == nil || !strings.Contains(err.Error(), "401") || calls2.Load() != 0 {
		t.Errorf("wrong key: Step = %v", err)
	}
}

func TestWebhookTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	c := &WebhookClient{Timeout: 100 * time.Millisecond, Attempts: 2, Backoff: func(int) time.Duration { return time.Millisecond }}
	w, _ := c.rotator(srv.URL, ca, hookKey)
	start := time.Now()
	err := w.Step(t.Context(), stepReq(store.StepTest))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Step = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("two attempts took %v", d)
	}
}

func TestCheckWebhookURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://rotator.example.com/hook":     true,
		"https://127.0.0.1:8443/x?y=1":         true,
		"http://rotator.example.com/hook":      false,
		"https://user:pw@rotator.example/":     false,
		"https:///nohost":                      false,
		"https://rotator.example/#frag":        false,
		"rotator.example":                      false,
		"https://rotator.example:99999/":       false,
		"https://" + strings.Repeat("a", 3000): false,
	} {
		if err := CheckWebhookURL(raw); (err == nil) != ok {
			t.Errorf("CheckWebhookURL(%q) = %v, want ok=%v", raw, err, ok)
		}
	}
}

func TestParseFunctionARN(t *testing.T) {
	for s, ok := range map[string]bool{
		"arn:aws:lambda:us-east-1:123456789012:function:rotator":                      true,
		"arn:aws:lambda:us-east-1:123456789012:function:rotator:live":                 true,
		"arn:aws:lambda:us-east-1:123456789012:function:bulwark-postgres-single-user": true,
		"arn:aws:lambda:us-east-1:12345678901:function:rotator":                       false,
		"arn:aws:s3:us-east-1:123456789012:function:rotator":                          false,
		"arn:aws:lambda:us-east-1:123456789012:layer:rotator":                         false,
		"arn:aws:lambda:us-east-1:123456789012:function:" + strings.Repeat("a", 65):   false,
		"arn:aws:lambda:us-east-1:123456789012:function:a b":                          false,
	} {
		if _, err := ParseFunctionARN(s); (err == nil) != ok {
			t.Errorf("ParseFunctionARN(%q) = %v, want ok=%v", s, err, ok)
		}
	}
}

func FuzzParseFunctionARN(f *testing.F) {
	f.Add("arn:aws:lambda:us-east-1:123456789012:function:rotator:live")
	f.Fuzz(func(t *testing.T, s string) {
		fn, err := ParseFunctionARN(s)
		if err == nil && (len(fn.Account) != 12 || fn.Name == "" || !strings.Contains(s, fn.Name)) {
			t.Fatalf("%q parsed to %+v", s, fn)
		}
	})
}
