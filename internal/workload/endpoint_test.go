package workload

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func servedWith(name, role string, exp time.Time) *Served {
	r := &Refresher{Name: name}
	r.init()
	r.cur = &Credentials{AccessKeyID: "ASIA" + strings.ToUpper(name), SecretAccessKey: "secret-" + name, SessionToken: "token-" + name,
		Expiration: exp, RoleARN: "arn:aws:iam::123456789012:role/" + role}
	return &Served{Name: name, Token: NewSecret(localTokenPrefix), Creds: r}
}

func request(h http.Handler, method, target, remote string, headers map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = remote
	r.Host = "127.0.0.1:8170"
	for k, v := range headers {
		if k == "Host" {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestContainerEndpoint(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	a, b := servedWith("a", "role-a", exp), servedWith("b", "role-b", exp)
	stale := servedWith("stale", "role-s", time.Now().Add(time.Second))
	h := NewEndpoint(EndpointConfig{}, a, b, stale).Handler()
	const lo = "127.0.0.1:5555"
	tests := []struct {
		name    string
		method  string
		path    string
		remote  string
		headers map[string]string
		status  int
		want    string
	}{
		{"a's token gets a's role", "GET", ContainerPath, lo, map[string]string{"Authorization": a.Token.Reveal()}, 200, `"RoleArn":"arn:aws:iam::123456789012:role/role-a"`},
		{"b's token gets b's role", "GET", ContainerPath, lo, map[string]string{"Authorization": b.Token.Reveal()}, 200, `"AccessKeyId":"ASIAB"`},
		{"IPv6 loopback", "GET", ContainerPath, "[::1]:5555", map[string]string{"Authorization": a.Token.Reveal()}, 200, `"Token":"token-a"`},
		{"no token", "GET", ContainerPath, lo, nil, 401, "MissingAuthorization"},
		{"wrong token", "GET", ContainerPath, lo, map[string]string{"Authorization": NewSecret(localTokenPrefix).Reveal()}, 403, "InvalidAuthorization"},
		{"bearer-prefixed token", "GET", ContainerPath, lo, map[string]string{"Authorization": "Bearer " + a.Token.Reveal()}, 403, "InvalidAuthorization"},
		{"token prefix only", "GET", ContainerPath, lo, map[string]string{"Authorization": a.Token.Reveal()[:10]}, 403, "InvalidAuthorization"},
		{"remote client", "GET", ContainerPath, "192.0.2.7:5555", map[string]string{"Authorization": a.Token.Reveal()}, 403, "loopback"},
		{"X-Forwarded-For", "GET", ContainerPath, lo, map[string]string{"Authorization": a.Token.Reveal(), "X-Forwarded-For": "192.0.2.7"}, 403, "forwarded"},
		{"Forwarded", "GET", ContainerPath, lo, map[string]string{"Authorization": a.Token.Reveal(), "Forwarded": "for=192.0.2.7"}, 403, "forwarded"},
		{"X-Real-IP", "GET", ContainerPath, lo, map[string]string{"Authorization": a.Token.Reveal(), "X-Real-IP": "192.0.2.7"}, 403, "forwarded"},
		{"Via", "GET", ContainerPath, lo, map[string]string{"Authorization": a.Token.Reveal(), "Via": "1.1 proxy"}, 403, "forwarded"},
		{"rebound host name", "GET", ContainerPath, lo, map[string]string{"Authorization": a.Token.Reveal(), "Host": "evil.example:8170"}, 403, "Host"},
		{"localhost host", "GET", ContainerPath, lo, map[string]string{"Authorization": a.Token.Reveal(), "Host": "localhost:8170"}, 200, "AccessKeyId"},
		{"POST", "POST", ContainerPath, lo, map[string]string{"Authorization": a.Token.Reveal()}, 405, "MethodNotAllowed"},
		{"credentials about to expire are not served", "GET", ContainerPath, lo, map[string]string{"Authorization": stale.Token.Reveal()}, 503, "CredentialsUnavailable"},
		{"other path", "GET", "/latest/meta-data/", lo, nil, 404, "NotFound"},
		{"healthz", "GET", "/healthz", lo, nil, 200, "ok 2/3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := request(h, tt.method, tt.path, tt.remote, tt.headers)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.want) {
				t.Fatalf("%d %s, want %d with %q", w.Code, w.Body.String(), tt.status, tt.want)
			}
			if w.Code != 200 && strings.Contains(w.Body.String(), "secret-") {
				t.Fatal("an error answer holds a secret")
			}
			if tt.path == ContainerPath && w.Header().Get("Cache-Control") != "no-store" {
				t.Fatal("credentials answer may be cached")
			}
		})
	}
	// The SDKs parse Expiration as RFC 3339.
	w := request(h, "GET", ContainerPath, lo, map[string]string{"Authorization": a.Token.Reveal()})
	var c struct{ AccessKeyId, SecretAccessKey, Token, Expiration, RoleArn string }
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
		t.Fatal(err)
	}
	if got, err := time.Parse(time.RFC3339, c.Expiration); err != nil || !got.Equal(exp.Truncate(time.Second)) {
		t.Fatalf("Expiration %q (%v)", c.Expiration, err)
	}
}

func TestIMDSv2(t *testing.T) {
	a, b := servedWith("a", "role-a", time.Now().Add(time.Hour)), servedWith("b", "role-b", time.Now().Add(time.Hour))
	ep := NewEndpoint(EndpointConfig{}, a, b)
	ha, hb := ep.IMDSHandler(a), ep.IMDSHandler(b)
	const lo = "127.0.0.1:5555"
	tokFor := func(h http.Handler) string {
		w := request(h, "PUT", imdsTokenPath, lo, map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"})
		if w.Code != 200 || w.Header().Get("X-aws-ec2-metadata-token-ttl-seconds") != "60" {
			t.Fatalf("token: %d %s", w.Code, w.Body)
		}
		return w.Body.String()
	}
	ta, tb := tokFor(ha), tokFor(hb)
	tests := []struct {
		name    string
		h       http.Handler
		method  string
		path    string
		headers map[string]string
		status  int
		want    string
	}{
		{"list role", ha, "GET", imdsCredsPath, map[string]string{"X-aws-ec2-metadata-token": ta}, 200, "role-a"},
		{"role credentials", ha, "GET", imdsCredsPath + "role-a", map[string]string{"X-aws-ec2-metadata-token": ta}, 200, `"AccessKeyId":"ASIAA"`},
		{"another role's name", ha, "GET", imdsCredsPath + "role-b", map[string]string{"X-aws-ec2-metadata-token": ta}, 404, ""},
		{"b's session on a's listener", ha, "GET", imdsCredsPath + "role-a", map[string]string{"X-aws-ec2-metadata-token": tb}, 401, ""},
		{"IMDSv1", ha, "GET", imdsCredsPath + "role-a", nil, 401, ""},
		{"made-up session", ha, "GET", imdsCredsPath, map[string]string{"X-aws-ec2-metadata-token": NewSecret(localTokenPrefix).Reveal()}, 401, ""},
		{"token by GET", ha, "GET", imdsTokenPath, map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"}, 405, ""},
		{"token without TTL", ha, "PUT", imdsTokenPath, nil, 400, ""},
		{"token TTL too long", ha, "PUT", imdsTokenPath, map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "21601"}, 400, ""},
		{"forwarded token request", ha, "PUT", imdsTokenPath, map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "192.0.2.7"}, 403, ""},
		{"extended credentials path", ha, "GET", "/latest/meta-data/iam/security-credentials-extended/", map[string]string{"X-aws-ec2-metadata-token": ta}, 404, ""},
		{"other metadata", ha, "GET", "/latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": ta}, 404, ""},
	}
	for _, tt := range tests {
		w := request(tt.h, tt.method, tt.path, lo, tt.headers)
		if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.want) {
			t.Errorf("%s: %d %s, want %d with %q", tt.name, w.Code, w.Body.String(), tt.status, tt.want)
		}
	}
	// IMDSv1 only when explicitly allowed.
	v1 := NewEndpoint(EndpointConfig{AllowIMDSv1: true}, a).IMDSHandler(a)
	if w := request(v1, "GET", imdsCredsPath, lo, nil); w.Code != 200 {
		t.Fatalf("IMDSv1 allowed: %d", w.Code)
	}
	// Sessions expire.
	now := time.Now()
	ep2 := NewEndpoint(EndpointConfig{Now: func() time.Time { return now }}, a)
	h2 := ep2.IMDSHandler(a)
	tok := request(h2, "PUT", imdsTokenPath, lo, map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "1"}).Body.String()
	now = now.Add(2 * time.Second)
	if w := request(h2, "GET", imdsCredsPath, lo, map[string]string{"X-aws-ec2-metadata-token": tok}); w.Code != 401 {
		t.Fatalf("expired session: %d", w.Code)
	}
}

func TestRateLimit(t *testing.T) {
	a := servedWith("a", "role-a", time.Now().Add(time.Hour))
	now := time.Now()
	h := NewEndpoint(EndpointConfig{Rate: 1, Burst: 3, Now: func() time.Time { return now }}, a).Handler()
	hdr := map[string]string{"Authorization": a.Token.Reveal()}
	for i := range 3 {
		if w := request(h, "GET", ContainerPath, "127.0.0.1:1", hdr); w.Code != 200 {
			t.Fatalf("request %d: %d", i, w.Code)
		}
	}
	if w := request(h, "GET", ContainerPath, "127.0.0.1:1", hdr); w.Code != 429 {
		t.Fatalf("over the burst: %d, want 429", w.Code)
	}
	now = now.Add(time.Second)
	if w := request(h, "GET", ContainerPath, "127.0.0.1:1", hdr); w.Code != 200 {
		t.Fatalf("after a second: %d", w.Code)
	}
}

func TestNextRefresh(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		life   time.Duration
		margin time.Duration
		want   time.Duration
	}{
		{"an hour, 5 min margin: at 2/3", time.Hour, 5 * time.Minute, 40 * time.Minute},
		{"an hour, 30 min margin: margin first", time.Hour, 30 * time.Minute, 30 * time.Minute},
		{"15 min, 5 min margin", 15 * time.Minute, 5 * time.Minute, 10 * time.Minute},
		{"12 s, 3 s margin", 12 * time.Second, 3 * time.Second, 8 * time.Second},
		{"margin longer than life: a third", 12 * time.Second, time.Hour, 4 * time.Second},
	}
	for _, tt := range tests {
		if got := nextRefresh(t0, t0.Add(tt.life), tt.margin).Sub(t0); got != tt.want {
			t.Errorf("%s: refresh after %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestRefresher: credentials are replaced before expiry; a refusal drops
// them at once; a failure keeps them.
func TestRefresher(t *testing.T) {
	var calls atomic.Int32
	var fail atomic.Value
	fail.Store("")
	r := &Refresher{Name: "w", Margin: time.Hour, Fetch: func(context.Context) (Credentials, error) {
		n := calls.Add(1)
		switch fail.Load().(string) {
		case "refuse":
			return Credentials{}, &APIError{Status: 403, Code: "AccessDenied"}
		case "down":
			return Credentials{}, errors.New("connection refused")
		}
		return Credentials{AccessKeyID: "K" + string(rune('0'+n)), SecretAccessKey: "s", Expiration: time.Now().Add(900 * time.Millisecond)}, nil
	}}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go r.Run(ctx)
	<-r.Tried()
	// 900 ms credentials are shorter than minValidity and never served:
	// the fetch count shows the rotation.
	waitFor(t, func() bool { return calls.Load() >= 3 }, "three fetches within the lifetimes")
	fail.Store("down")
	time.Sleep(50 * time.Millisecond)
	fail.Store("refuse")
	r.Kick()
	waitFor(t, func() bool { r.mu.RLock(); defer r.mu.RUnlock(); return r.cur == nil }, "refusal drops the credentials")
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting: %s", what)
}

func TestSecret(t *testing.T) {
	s := NewSecret(joinTokenPrefix)
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"fresh", s.Reveal(), true},
		{"other prefix", agentTokenPrefix + s.Reveal()[4:], false},
		{"short", s.Reveal()[:tokenLen-1], false},
		{"long", s.Reveal() + "A", false},
		{"padding", s.Reveal()[:tokenLen-1] + "=", false},
		{"bad alphabet", s.Reveal()[:tokenLen-1] + "+", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		if _, ok := ParseSecret(joinTokenPrefix, tt.in); ok != tt.ok {
			t.Errorf("%s: ok %v, want %v", tt.name, ok, tt.ok)
		}
	}
	p, _ := ParseSecret(joinTokenPrefix, s.Reveal())
	if !p.Equal(s) || p.Equal(NewSecret(joinTokenPrefix)) || !s.EqualString(s.Reveal()) || (Secret{}).EqualString("") {
		t.Fatal("Equal")
	}
	if s.String() != "[redacted]" || strings.Contains(s.LogValue().String(), s.Reveal()) {
		t.Fatal("a secret prints itself")
	}
}

func TestListenLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:0", "localhost:0", ":0"} {
		if ln, err := ListenLoopback(t.Context(), addr); err == nil {
			ln.Close()
			t.Errorf("%s accepted", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		ln, err := ListenLoopback(t.Context(), addr)
		if err != nil {
			if addr == "[::1]:0" {
				continue // no IPv6 here
			}
			t.Fatalf("%s: %v", addr, err)
		}
		ln.Close()
	}
}
