package authz

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

type fakeSource struct {
	ids      map[string]*Identity
	sessions []*policy.Policy
}

func (f *fakeSource) Identity(_ context.Context, p *api.Principal) (*Identity, error) {
	key := p.UserName
	if p.RoleName != "" {
		key = p.RoleName
	}
	id, ok := f.ids[key]
	if !ok {
		return nil, ErrNoSuchPrincipal
	}
	return id, nil
}

func (f *fakeSource) SessionPolicies(_ context.Context, p *api.Principal) ([]*policy.Policy, error) {
	if p.SessionPolicy == "" {
		return nil, nil
	}
	return f.sessions, nil
}

func pol(t *testing.T, kind policy.Kind, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(doc), kind)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const acct = "111122223333"

func TestPolicies(t *testing.T) {
	allowIAM := pol(t, policy.KindIdentity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`)
	onlyGet := pol(t, policy.KindIdentity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}]}`)
	denyProd := pol(t, policy.KindIdentity, `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"arn:aws:iam::111122223333:user/prod/*"}]}`)
	tagged := pol(t, policy.KindIdentity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}}]}`)
	ownName := pol(t, policy.KindIdentity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::111122223333:user/${aws:username}"}]}`)
	src := &fakeSource{ids: map[string]*Identity{
		"admin":   {Policies: []*policy.Policy{allowIAM, denyProd}},
		"bounded": {Policies: []*policy.Policy{allowIAM}, Boundary: onlyGet},
		"blue":    {Policies: []*policy.Policy{tagged}, Tags: []store.Tag{{Key: "team", Value: "blue"}}},
		"red":     {Policies: []*policy.Policy{tagged}, Tags: []store.Tag{{Key: "team", Value: "red"}}},
		"self":    {Policies: []*policy.Policy{ownName}},
		"app":     {Policies: []*policy.Policy{allowIAM}},
	}, sessions: []*policy.Policy{onlyGet}}
	a := &Policies{Source: src}
	user := func(n string) *api.Principal {
		return &api.Principal{Type: "IAMUser", ARN: "arn:aws:iam::" + acct + ":user/" + n, AccountID: acct, UserName: n, UserID: "AIDA" + n}
	}
	role := &api.Principal{Type: "AssumedRole", ARN: "arn:aws:sts::" + acct + ":assumed-role/app/s", AccountID: acct,
		RoleName: "app", RoleARN: "arn:aws:iam::" + acct + ":role/app", Temporary: true, IssuedAt: time.Now(), SessionPolicy: "{}"}
	trustUser := pol(t, policy.KindTrust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/nobody-policies"},"Action":"sts:AssumeRole"}]}`)

	cases := []struct {
		name      string
		p         *api.Principal
		action    string
		resource  string
		always    bool
		resPolicy *policy.Policy
		want      bool
		reason    Reason
	}{
		{"root may do anything", &api.Principal{Type: "Root", ARN: "arn:aws:iam::" + acct + ":root", AccountID: acct}, "iam:CreateUser", "arn:aws:iam::" + acct + ":user/x", false, nil, true, 0},
		{"allowed", user("admin"), "iam:CreateUser", "arn:aws:iam::" + acct + ":user/x", false, nil, true, 0},
		{"explicit deny wins", user("admin"), "iam:DeleteUser", "arn:aws:iam::" + acct + ":user/prod/db", false, nil, false, ExplicitDenyIdentity},
		{"boundary blocks", user("bounded"), "iam:CreateUser", "*", false, nil, false, NoBoundaryAllow},
		{"boundary allows", user("bounded"), "iam:GetUser", "*", false, nil, true, 0},
		{"principal tag matches", user("blue"), "iam:GetUser", "*", false, nil, true, 0},
		{"principal tag differs", user("red"), "iam:GetUser", "*", false, nil, false, NoIdentityPolicy},
		{"policy variable ${aws:username}", user("self"), "iam:GetUser", "arn:aws:iam::" + acct + ":user/self", false, nil, true, 0},
		{"policy variable, other user", user("self"), "iam:GetUser", "arn:aws:iam::" + acct + ":user/other", false, nil, false, NoIdentityPolicy},
		{"deleted principal", user("gone"), "iam:GetUser", "*", false, nil, false, NoIdentityPolicy},
		{"always-allowed action", user("gone"), "sts:GetCallerIdentity", "*", true, nil, true, 0},
		{"session policy intersects", role, "iam:CreateUser", "*", false, nil, false, NoSessionPolicyAllow},
		{"session policy allows", role, "iam:GetRole", "*", false, nil, true, 0},
		{"trust policy naming the user grants without identity policy", user("nobody-policies"), "sts:AssumeRole", "arn:aws:iam::" + acct + ":role/r", false, trustUser, true, 0},
		{"trust policy not naming the caller", user("admin"), "sts:AssumeRole", "arn:aws:iam::" + acct + ":role/r", false, trustUser, false, NoIdentityPolicy},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.p.UserName == "nobody-policies" {
				src.ids["nobody-policies"] = &Identity{}
			}
			c := &api.Call{Principal: tc.p, Time: time.Now(), Region: "us-east-1", SourceIP: netip.MustParseAddr("127.0.0.1")}
			act := &api.Action{IAMAction: tc.action, AlwaysAllowed: tc.always}
			d, err := a.Authorize(context.Background(), &Request{Call: c, Action: act, Resources: []string{tc.resource},
				ResourcePolicy: tc.resPolicy, RequireResourceAllow: tc.resPolicy != nil})
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tc.want || (!tc.want && d.Reason != tc.reason) {
				t.Fatalf("allowed=%v reason=%v, want %v %v", d.Allowed, d.Reason, tc.want, tc.reason)
			}
		})
	}
}

func TestDeniedMessage(t *testing.T) {
	c := &api.Call{Principal: &api.Principal{ARN: "arn:aws:iam::111122223333:user/bob"},
		Action: &api.Action{IAMAction: "iam:CreateUser"}, Service: &api.Service{AccessDeniedCode: "AccessDenied", AccessDeniedStatus: 403}}
	for reason, want := range map[Reason]string{
		NoIdentityPolicy:     "because no identity-based policy allows the iam:CreateUser action",
		ExplicitDenyIdentity: "with an explicit deny in an identity-based policy",
		NoBoundaryAllow:      "because no permissions boundary allows the iam:CreateUser action",
		NoSessionPolicyAllow: "because no session policy allows the iam:CreateUser action",
	} {
		e := Denied(c, Decision{Resource: "arn:aws:iam::111122223333:user/x", Reason: reason})
		if e.Code != "AccessDenied" || e.Status != 403 || !strings.HasPrefix(e.Message, "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::111122223333:user/x ") || !strings.HasSuffix(e.Message, want) {
			t.Errorf("%v: %s", reason, e.Message)
		}
	}
}
