package workload

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzParseSecret: tokens from the network either parse to exactly
// themselves or are refused, and never panic.
func FuzzParseSecret(f *testing.F) {
	f.Add(NewSecret(joinTokenPrefix).Reveal())
	f.Add("bwj_")
	f.Add("bwj_" + strings.Repeat("A", 43))
	f.Add("bwj_" + strings.Repeat("_", 42) + "=")
	f.Fuzz(func(t *testing.T, s string) {
		sec, ok := ParseSecret(joinTokenPrefix, s)
		if !ok {
			return
		}
		if sec.Reveal() != s || len(s) != tokenLen || len(sec.Hash()) != 32 {
			t.Fatalf("accepted %q as %q", s, sec.Reveal())
		}
	})
}

// FuzzParseIMDSTTL: only canonical whole seconds in range are accepted.
func FuzzParseIMDSTTL(f *testing.F) {
	for _, s := range []string{"1", "21600", "0", "21601", "060", "-1", "+5", "1e3", " 5", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseIMDSTTL(s)
		if err != nil {
			return
		}
		if d < time.Second || d > maxIMDSTTL*time.Second || d%time.Second != 0 {
			t.Fatalf("%q accepted as %v", s, d)
		}
	})
}

// FuzzEndpoint sends arbitrary paths, methods and headers: nothing but a
// request with the workload's token (container) or a session token made
// for it (IMDS) is ever answered with credentials.
func FuzzEndpoint(f *testing.F) {
	f.Add("GET", ContainerPath, "Authorization", "x", "127.0.0.1:1")
	f.Add("GET", imdsCredsPath+"role-a", "X-aws-ec2-metadata-token", "bwl_"+strings.Repeat("A", 43), "[::1]:1")
	f.Add("PUT", imdsTokenPath, "X-aws-ec2-metadata-token-ttl-seconds", "60", "127.0.0.1:1")
	f.Add("GET", "/v1/credentials/../v1/credentials", "X-Forwarded-For", "1.2.3.4", "10.0.0.1:1")
	a := servedWith("a", "role-a", time.Now().Add(time.Hour))
	ep := NewEndpoint(EndpointConfig{Rate: 1e9, Burst: 1 << 30}, a)
	container, imds := ep.Handler(), ep.IMDSHandler(a)
	f.Fuzz(func(t *testing.T, method, path, hk, hv, remote string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#?%") || method == "" || strings.ContainsAny(method, " \r\n\t()<>@,;:\\\"/[]?={}") {
			return
		}
		for _, h := range []http.Handler{container, imds} {
			r := httptest.NewRequest("GET", "/", nil)
			r.Method, r.URL.Path, r.RemoteAddr, r.Host = method, path, remote, "127.0.0.1"
			r.Header.Set(hk, hv)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if strings.Contains(w.Body.String(), "secret-a") {
				if hv == a.Token.Reveal() {
					continue
				}
				t.Fatalf("%s %s with %s: %s leaked credentials", method, path, hk, remote)
			}
		}
	})
}
