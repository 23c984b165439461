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

// FuzzAgentInputs feeds arbitrary parameters to the agent-facing calls'
// decoders and validators (unauthenticated network input): no panic, and
// no error message ever echoes a token.
func FuzzAgentInputs(f *testing.F) {
	f.Add("arn:aws:bulwark-workloads:us-east-1:123456789012:workload/web", NewSecret(joinTokenPrefix).Reveal(), "", NewSecret(agentTokenPrefix).Reveal(), "900")
	f.Add("", "bwj_x", "a.b.c", "bwa_", "-1")
	f.Add(strings.Repeat("a", 3000), "", "", "", "99999999999")
	f.Fuzz(func(t *testing.T, arn, join, id, agent, dur string) {
		ai := &attestInput{}
		_ = ai.DecodeQuery(map[string][]string{"WorkloadArn": {arn}, "JoinToken": {join}, "IdentityToken": {id}})
		if err := ai.Validate(); err != nil {
			msg := err.Error()
			if (len(join) > 8 && strings.Contains(msg, join)) || (len(id) > 8 && strings.Contains(msg, id)) {
				t.Fatalf("attest error echoes a token: %s", msg)
			}
		} else if (ai.JoinToken == "") == (ai.IdentityToken == "") || (ai.JoinToken != "" && ai.join.Reveal() != ai.JoinToken) {
			t.Fatalf("accepted %+v", ai)
		}
		ci := &credentialsInput{}
		if err := ci.DecodeQuery(map[string][]string{"AgentToken": {agent}, "DurationSeconds": {dur}}); err != nil {
			return
		}
		if err := ci.Validate(); err != nil {
			if len(agent) > 8 && strings.Contains(err.Error(), agent) {
				t.Fatalf("credentials error echoes the token: %v", err)
			}
		} else if ci.DurationSeconds < 0 || ci.DurationSeconds > 43200 || ci.agent.Reveal() != agent {
			t.Fatalf("accepted %+v", ci)
		}
	})
}
