package workload

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/keyring"
	"github.com/bulwark-security/bulwark/internal/session"
	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

const testAcct = "123456789012"

// fixture is the two services over a real (in-memory SQLite) store, IAM
// and the policy authorizer.
type fixture struct {
	t            *testing.T
	st           *sqlite.Store
	keys         *keyring.Keyring
	admin, agent *api.Service
	now          time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), ":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateAccount(t.Context(), store.Account{ID: testAcct, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, keys: keys, now: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	f.admin, f.agent, err = New(Config{Store: st, IAM: st, Keyring: keys,
		Authorizer: &authz.Policies{Source: &authz.StoreSource{IAM: st}}, Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.NewRegistry(f.admin, f.agent); err != nil {
		t.Fatalf("action tables: %v", err)
	}
	return f
}

func (f *fixture) role(name, trust, permissions string) string {
	f.t.Helper()
	arn := "arn:aws:iam::" + testAcct + ":role/" + name
	if err := f.st.CreateRole(f.t.Context(), store.Role{AccountID: testAcct, RoleName: name, RoleID: "AROA" + strings.ToUpper(name),
		Path: "/", ARN: arn, CreatedAt: f.now, AssumeRolePolicyDocument: trust, MaxSessionDuration: 3600}); err != nil {
		f.t.Fatal(err)
	}
	return arn
}

var root = &api.Principal{Type: "Root", ARN: "arn:aws:iam::" + testAcct + ":root", AccountID: testAcct, UserID: testAcct}

// call runs an action as the server would after authorisation (or, for
// the agent's unsigned actions, without it).
func (f *fixture) call(svc *api.Service, action string, p *api.Principal, in any) (any, error) {
	f.t.Helper()
	a := svc.Action(action)
	if a == nil {
		f.t.Fatalf("no action %s", action)
	}
	c := &api.Call{Service: svc, Action: a, Principal: p, Region: "us-east-1", Time: f.now, SourceIP: netip.MustParseAddr("127.0.0.1")}
	switch svc.Protocol {
	case api.JSON:
		c.Body, _ = json.Marshal(in)
	case api.Query:
		c.Params = in.(map[string][]string)
	}
	op, err := a.Bind(c)
	if err != nil {
		return nil, err
	}
	return op.Run(f.t.Context())
}

func code(err error) string {
	if err == nil {
		return "ok"
	}
	return awsproto.As(err).Code
}

func trustPolicy(principal, condition string) string {
	s := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":` + principal + `,"Action":"sts:AssumeRole"`
	if condition != "" {
		s += `,"Condition":` + condition
	}
	return s + `}]}`
}

const svcPrincipal = `{"Service":"workloads.bulwark.internal"}`

// register registers a workload and attests it with a join token,
// returning the agent token.
func (f *fixture) registerAndAttest(name, roleARN string, sel []Selector) Secret {
	f.t.Helper()
	if _, err := f.call(f.admin, "RegisterWorkload", root, map[string]any{"Name": name, "RoleArn": roleARN, "Selectors": sel}); err != nil {
		f.t.Fatalf("register %s: %v", name, err)
	}
	out, err := f.call(f.admin, "CreateJoinToken", root, map[string]any{"Name": name})
	if err != nil {
		f.t.Fatalf("join token: %v", err)
	}
	res, err := f.call(f.agent, "AttestWorkload", nil, map[string][]string{"JoinToken": {out.(*JoinTokenOutput).JoinToken}})
	if err != nil {
		f.t.Fatalf("attest %s: %v", name, err)
	}
	tok, ok := ParseSecret(agentTokenPrefix, res.(*attestResult).AgentToken)
	if !ok {
		f.t.Fatalf("bad agent token")
	}
	return tok
}

func (f *fixture) credentials(agent Secret, seconds string) (*credentialsResult, error) {
	out, err := f.call(f.agent, "GetWorkloadCredentials", nil, map[string][]string{"AgentToken": {agent.Reveal()}, "DurationSeconds": {seconds}})
	if err != nil {
		return nil, err
	}
	return out.(*credentialsResult), nil
}

// TestTrustPolicyDecides: the role's trust policy, evaluated by the policy
// engine with the workload's keys, decides whether a workload gets
// credentials.
func TestTrustPolicyDecides(t *testing.T) {
	wl := `arn:aws:bulwark-workloads:us-east-1:` + testAcct + `:workload/web`
	tests := []struct {
		name  string
		trust string
		want  string
	}{
		{"service principal, any workload", trustPolicy(svcPrincipal, ""), "ok"},
		{"source ARN is the workload", trustPolicy(svcPrincipal, `{"StringEquals":{"aws:SourceArn":"`+wl+`"}}`), "ok"},
		{"source ARN is another workload", trustPolicy(svcPrincipal, `{"StringEquals":{"aws:SourceArn":"`+wl+`x"}}`), "AccessDenied"},
		{"source account", trustPolicy(svcPrincipal, `{"StringEquals":{"aws:SourceAccount":"`+testAcct+`"}}`), "ok"},
		{"selector matches", trustPolicy(svcPrincipal, `{"StringEquals":{"bulwark-workloads:Selector/team":"pay"}}`), "ok"},
		{"selector differs", trustPolicy(svcPrincipal, `{"StringEquals":{"bulwark-workloads:Selector/team":"ops"}}`), "AccessDenied"},
		{"name pattern", trustPolicy(svcPrincipal, `{"StringLike":{"bulwark-workloads:WorkloadName":"w*"}}`), "ok"},
		{"attested by join token", trustPolicy(svcPrincipal, `{"StringEquals":{"bulwark-workloads:AttestationType":"join_token"}}`), "ok"},
		{"requires OIDC attestation", trustPolicy(svcPrincipal, `{"StringEquals":{"bulwark-workloads:AttestationType":"jwt"}}`), "AccessDenied"},
		{"another service", trustPolicy(`{"Service":"ecs-tasks.amazonaws.com"}`, ""), "AccessDenied"},
		{"account principal", trustPolicy(`{"AWS":"arn:aws:iam::`+testAcct+`:root"}`, ""), "AccessDenied"},
		{"explicit deny wins", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":` + svcPrincipal + `,"Action":"sts:AssumeRole"},` +
			`{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"bulwark-workloads:WorkloadName":"web"}}}]}`, "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			roleARN := f.role("app", tt.trust, "")
			agent := f.registerAndAttest("web", roleARN, []Selector{{"team", "pay"}})
			res, err := f.credentials(agent, "900")
			if got := code(err); got != tt.want {
				t.Fatalf("GetWorkloadCredentials: %s (%v), want %s", got, err, tt.want)
			}
			if err != nil {
				return
			}
			// The session is the role's, as AssumeRole makes it.
			sess, err := session.Open(f.keys, res.Credentials.AccessKeyID, res.Credentials.SessionToken)
			if err != nil {
				t.Fatal(err)
			}
			p := sess.Principal
			if p.RoleARN != roleARN || p.ARN != "arn:aws:sts::"+testAcct+":assumed-role/app/web" || !p.Temporary ||
				p.Expiration.Sub(p.IssuedAt) != 15*time.Minute || res.RoleArn != roleARN || res.WorkloadArn != wl {
				t.Fatalf("session %+v, result %+v", p, res)
			}
			tags := map[string]string{}
			for _, tg := range p.Tags {
				tags[tg.Key] = tg.Value
			}
			if tags["workload-name"] != "web" || !strings.HasPrefix(tags["workload-id"], "wl-") || tags["team"] != "pay" || len(tags) != 3 {
				t.Fatalf("session tags %v", p.Tags)
			}
		})
	}
}

func TestAttestationAndLifecycle(t *testing.T) {
	f := newFixture(t)
	roleA := f.role("a", trustPolicy(svcPrincipal, ""), "")
	roleB := f.role("b", trustPolicy(svcPrincipal, `{"StringEquals":{"bulwark-workloads:WorkloadName":"other"}}`), "")
	agent := f.registerAndAttest("web", roleA, nil)

	steps := []struct {
		name string
		run  func() error
		want string
	}{
		{"register twice", func() error {
			_, err := f.call(f.admin, "RegisterWorkload", root, map[string]any{"Name": "web", "RoleArn": roleA})
			return err
		}, "ResourceExistsException"},
		{"register with a missing role", func() error {
			_, err := f.call(f.admin, "RegisterWorkload", root, map[string]any{"Name": "x", "RoleArn": roleA + "nope"})
			return err
		}, "InvalidParameterException"},
		{"register with another account's role", func() error {
			_, err := f.call(f.admin, "RegisterWorkload", root, map[string]any{"Name": "x", "RoleArn": "arn:aws:iam::999999999999:role/a"})
			return err
		}, "ValidationException"},
		{"register with half a JWT selector pair", func() error {
			_, err := f.call(f.admin, "RegisterWorkload", root, map[string]any{"Name": "x", "RoleArn": roleA, "Selectors": []Selector{{"jwt:sub", "a"}}})
			return err
		}, "ValidationException"},
		{"bad name", func() error {
			_, err := f.call(f.admin, "RegisterWorkload", root, map[string]any{"Name": "a/b", "RoleArn": roleA})
			return err
		}, "ValidationException"},
		{"describe missing", func() error {
			_, err := f.call(f.admin, "DescribeWorkload", root, map[string]any{"Name": "nope"})
			return err
		}, "ResourceNotFoundException"},
		{"describe by another account's ARN", func() error {
			_, err := f.call(f.admin, "DescribeWorkload", root, map[string]any{"Name": "arn:aws:bulwark-workloads:us-east-1:999999999999:workload/web"})
			return err
		}, "ResourceNotFoundException"},
		{"credentials work", func() error { _, err := f.credentials(agent, "900"); return err }, "ok"},
		{"too short", func() error { _, err := f.credentials(agent, "899"); return err }, "ValidationError"},
		{"too long for the role", func() error { _, err := f.credentials(agent, "3601"); return err }, "ValidationError"},
		{"malformed agent token", func() error {
			_, err := f.call(f.agent, "GetWorkloadCredentials", nil, map[string][]string{"AgentToken": {"bwa_short"}})
			return err
		}, "ValidationError"},
		{"unknown agent token", func() error { _, err := f.credentials(NewSecret(agentTokenPrefix), "900"); return err }, "ExpiredTokenException"},
		{"moved to a role whose trust policy names another workload", func() error {
			if _, err := f.call(f.admin, "UpdateWorkload", root, map[string]any{"Name": "web", "RoleArn": roleB}); err != nil {
				return err
			}
			_, err := f.credentials(agent, "900")
			return err
		}, "AccessDenied"},
		{"moved back", func() error {
			if _, err := f.call(f.admin, "UpdateWorkload", root, map[string]any{"Name": "web", "RoleArn": roleA}); err != nil {
				return err
			}
			_, err := f.credentials(agent, "900")
			return err
		}, "ok"},
		{"agent token idle past its TTL", func() error {
			f.now = f.now.Add(DefaultAgentTokenTTL + time.Second)
			_, err := f.credentials(agent, "900")
			return err
		}, "ExpiredTokenException"},
		{"revoked", func() error {
			agent = f.registerAndAttest("web2", roleA, nil)
			if _, err := f.call(f.admin, "RevokeWorkload", root, map[string]any{"Name": "web2"}); err != nil {
				return err
			}
			_, err := f.credentials(agent, "900")
			return err
		}, "ExpiredTokenException"},
		{"revoke twice", func() error {
			_, err := f.call(f.admin, "RevokeWorkload", root, map[string]any{"Name": "web2"})
			return err
		}, "InvalidRequestException"},
		{"join token for a revoked workload", func() error {
			_, err := f.call(f.admin, "CreateJoinToken", root, map[string]any{"Name": "web2"})
			return err
		}, "InvalidRequestException"},
		{"delete missing", func() error {
			_, err := f.call(f.admin, "DeleteWorkload", root, map[string]any{"Name": "nope"})
			return err
		}, "ResourceNotFoundException"},
		{"delete and register the name again", func() error {
			if _, err := f.call(f.admin, "DeleteWorkload", root, map[string]any{"Name": "web3"}); code(err) != "ResourceNotFoundException" {
				return errors.New("deleted a workload never registered")
			}
			f.registerAndAttest("web3", roleA, nil)
			if _, err := f.call(f.admin, "DeleteWorkload", root, map[string]any{"Name": "web3"}); err != nil {
				return err
			}
			_, err := f.call(f.admin, "RegisterWorkload", root, map[string]any{"Name": "web3", "RoleArn": roleA})
			return err
		}, "ok"},
	}
	for _, s := range steps {
		if got := code(s.run()); got != s.want {
			t.Fatalf("%s: %s, want %s", s.name, got, s.want)
		}
	}
	out, err := f.call(f.admin, "ListWorkloads", root, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	ws := out.(*ListOutput).Workloads
	if len(ws) != 3 || ws[0].Name != "web" || ws[0].Status != "ACTIVE" || ws[1].Status != "REVOKED" || ws[1].RevokedAt == nil {
		t.Fatalf("ListWorkloads: %+v", ws)
	}
}

func TestJoinTokenErrorsAreUniform(t *testing.T) {
	f := newFixture(t)
	roleA := f.role("a", trustPolicy(svcPrincipal, ""), "")
	f.registerAndAttest("web", roleA, nil)
	out, _ := f.call(f.admin, "CreateJoinToken", root, map[string]any{"Name": "web", "ExpiresInSeconds": 60})
	tok := out.(*JoinTokenOutput).JoinToken
	tests := []struct {
		name   string
		params map[string][]string
		want   string
	}{
		{"no token", map[string][]string{}, "ValidationError"},
		{"both tokens", map[string][]string{"JoinToken": {tok}, "IdentityToken": {"a.b.c"}}, "ValidationError"},
		{"malformed", map[string][]string{"JoinToken": {"bwj_nope"}}, "ValidationError"},
		{"unknown", map[string][]string{"JoinToken": {NewSecret(joinTokenPrefix).Reveal()}}, "AccessDenied"},
		{"wrong workload named", map[string][]string{"JoinToken": {tok}, "WorkloadArn": {"arn:aws:bulwark-workloads:us-east-1:" + testAcct + ":workload/other"}}, "AccessDenied"},
		{"used", map[string][]string{"JoinToken": {tok}}, "AccessDenied"},
		{"JWT for a workload without jwt selectors", map[string][]string{"IdentityToken": {"a.b.c"}, "WorkloadArn": {"arn:aws:bulwark-workloads:us-east-1:" + testAcct + ":workload/web"}}, "AccessDenied"},
	}
	for _, tt := range tests {
		_, err := f.call(f.agent, "AttestWorkload", nil, tt.params)
		if got := code(err); got != tt.want {
			t.Errorf("%s: %s (%v), want %s", tt.name, got, err, tt.want)
		}
		if err != nil && strings.Contains(awsproto.As(err).Message, tok) {
			t.Errorf("%s: error message echoes the token", tt.name)
		}
	}
	// An expired token is refused too.
	out, _ = f.call(f.admin, "CreateJoinToken", root, map[string]any{"Name": "web", "ExpiresInSeconds": 60})
	f.now = f.now.Add(61 * time.Second)
	if _, err := f.call(f.agent, "AttestWorkload", nil, map[string][]string{"JoinToken": {out.(*JoinTokenOutput).JoinToken}}); code(err) != "AccessDenied" {
		t.Fatalf("expired join token: %v", err)
	}
}

// TestPassRole: registering a workload with a role needs iam:PassRole on
// it for workloads.bulwark.internal, decided by the caller's policies.
func TestPassRole(t *testing.T) {
	f := newFixture(t)
	roleA := f.role("a", trustPolicy(svcPrincipal, ""), "")
	roleB := f.role("b", trustPolicy(svcPrincipal, ""), "")
	if err := f.st.CreateUser(t.Context(), store.User{AccountID: testAcct, UserName: "op", UserID: "AIDAOP", Path: "/",
		ARN: "arn:aws:iam::" + testAcct + ":user/op", CreatedAt: f.now}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.PutInlinePolicy(t.Context(), store.InlinePolicy{AccountID: testAcct, EntityKind: store.EntityUser, EntityName: "op", PolicyName: "p",
		Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"` + roleA + `",` +
			`"Condition":{"StringEquals":{"iam:PassedToService":"workloads.bulwark.internal"}}}]}`}); err != nil {
		t.Fatal(err)
	}
	op := &api.Principal{Type: "IAMUser", ARN: "arn:aws:iam::" + testAcct + ":user/op", AccountID: testAcct, UserID: "AIDAOP", UserName: "op"}
	if _, err := f.call(f.admin, "RegisterWorkload", op, map[string]any{"Name": "a", "RoleArn": roleA}); err != nil {
		t.Fatalf("register with a passable role: %v", err)
	}
	_, err := f.call(f.admin, "RegisterWorkload", op, map[string]any{"Name": "b", "RoleArn": roleB})
	if code(err) != "AccessDeniedException" || !strings.Contains(awsproto.As(err).Message, "iam:PassRole") {
		t.Fatalf("register with another role: %v", err)
	}
	if _, err := f.call(f.admin, "UpdateWorkload", op, map[string]any{"Name": "a", "RoleArn": roleB}); code(err) != "AccessDeniedException" {
		t.Fatalf("update to another role: %v", err)
	}
	if _, err := f.st.GetWorkload(t.Context(), "arn:aws:bulwark-workloads:us-east-1:"+testAcct+":workload/b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("denied registration stored a workload: %v", err)
	}
}
