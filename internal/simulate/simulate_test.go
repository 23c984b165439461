package simulate

import (
	"context"
	"encoding/xml"
	"net/url"
	"strings"
	"testing"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

type fakeLoader struct{ id *authz.Identity }

func (f fakeLoader) EntityIdentity(_ context.Context, _ string, kind store.EntityKind, name string) (*authz.Identity, error) {
	if name != "alice" {
		return nil, authz.ErrNoSuchPrincipal
	}
	return f.id, nil
}

func (fakeLoader) Managed(context.Context, string) (*policy.Policy, error) { return nil, nil }

func mustParse(t *testing.T, doc string) *policy.Policy {
	p, err := policy.ParseOptions([]byte(doc), policy.Options{Kind: policy.KindUserInline, ID: "user/alice/inline"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func call(t *testing.T, l Loader, action string, v url.Values) (string, error) {
	t.Helper()
	svc := &api.Service{SigningName: "iam", EventSource: "iam.amazonaws.com", Protocol: api.Query, Version: "2010-05-08",
		XMLNamespace: "ns", AccessDeniedCode: "AccessDenied", AccessDeniedStatus: 403, Actions: Actions(l)}
	if _, err := api.NewRegistry(svc); err != nil {
		t.Fatal(err)
	}
	a := svc.Action(action)
	c := &api.Call{Service: svc, Action: a, Params: v, Principal: &api.Principal{AccountID: "111122223333", Type: "Root"}}
	op, err := a.Bind(c)
	if err != nil {
		return "", err
	}
	out, err := op.Run(context.Background())
	if err != nil {
		return "", err
	}
	b, err := xml.Marshal(out)
	return string(b), err
}

func TestSimulatePrincipalPolicy(t *testing.T) {
	id := &authz.Identity{Policies: []*policy.Policy{mustParse(t, `{"Version":"2012-10-17","Statement":[
 {"Sid":"ReadOwn","Effect":"Allow","Action":"iam:Get*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},
 {"Sid":"NoDelete","Effect":"Deny","Action":"iam:Delete*","Resource":"*"}]}`)}}
	l := fakeLoader{id: id}
	v := url.Values{
		"PolicySourceArn":      {"arn:aws:iam::111122223333:user/alice"},
		"ActionNames.member.1": {"iam:GetUser"},
		"ActionNames.member.2": {"iam:DeleteUser"},
		"ActionNames.member.3": {"iam:CreateUser"},
	}
	out, err := call(t, l, "SimulatePrincipalPolicy", v)
	if err != nil {
		t.Fatal(err)
	}
	// Without aws:SourceIp the condition cannot match: implicit deny, and
	// the key is reported missing. The deny wins for DeleteUser.
	for _, want := range []string{
		"<EvalActionName>iam:GetUser</EvalActionName><EvalResourceName>*</EvalResourceName><EvalDecision>implicitDeny</EvalDecision>",
		"<MissingContextValues><member>aws:SourceIp</member></MissingContextValues>",
		"<EvalActionName>iam:DeleteUser</EvalActionName><EvalResourceName>*</EvalResourceName><EvalDecision>explicitDeny</EvalDecision>",
		"<SourcePolicyId>user/alice/inline</SourcePolicyId><SourcePolicyType>user</SourcePolicyType><StartPosition><Line>3</Line>",
		"<EvalActionName>iam:CreateUser</EvalActionName><EvalResourceName>*</EvalResourceName><EvalDecision>implicitDeny</EvalDecision>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s\n%s", want, out)
		}
	}
	v.Set("ContextEntries.member.1.ContextKeyName", "aws:SourceIp")
	v.Set("ContextEntries.member.1.ContextKeyType", "ip")
	v.Set("ContextEntries.member.1.ContextKeyValues.member.1", "10.1.2.3")
	out, _ = call(t, l, "SimulatePrincipalPolicy", v)
	if !strings.Contains(out, "<EvalActionName>iam:GetUser</EvalActionName><EvalResourceName>*</EvalResourceName><EvalDecision>allowed</EvalDecision>") {
		t.Errorf("with the context entry: %s", out)
	}
	v.Set("PolicySourceArn", "arn:aws:iam::111122223333:user/nobody")
	if _, err := call(t, l, "SimulatePrincipalPolicy", v); err == nil || awsproto.As(err).Code != "NoSuchEntity" {
		t.Errorf("unknown user: %v", err)
	}
}

func TestSimulateCustomPolicy(t *testing.T) {
	v := url.Values{
		"PolicyInputList.member.1":                    {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/*"}]}`},
		"PermissionsBoundaryPolicyInputList.member.1": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`},
		"ActionNames.member.1":                        {"s3:GetObject"},
		"ResourceArns.member.1":                       {"arn:aws:s3:::my-bucket/a.txt"},
		"ResourceArns.member.2":                       {"arn:aws:s3:::other/a.txt"},
	}
	out, err := call(t, fakeLoader{}, "SimulateCustomPolicy", v)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"<EvalResourceName>arn:aws:s3:::my-bucket/a.txt</EvalResourceName><EvalDecision>allowed</EvalDecision>",
		"<EvalResourceName>arn:aws:s3:::other/a.txt</EvalResourceName><EvalDecision>implicitDeny</EvalDecision>",
		"<AllowedByPermissionsBoundary>true</AllowedByPermissionsBoundary>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s\n%s", want, out)
		}
	}
	v.Set("PolicyInputList.member.1", `{"Version":"2012-10-17","Statement":[{"Effect":"Allowx","Action":"s3:GetObject","Resource":"*"}]}`)
	if _, err := call(t, fakeLoader{}, "SimulateCustomPolicy", v); err == nil || awsproto.As(err).Code != "MalformedPolicyDocument" {
		t.Errorf("malformed policy: %v", err)
	}
	v.Set("MaxItems", "1")
	v.Set("PolicyInputList.member.1", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	out, _ = call(t, fakeLoader{}, "SimulateCustomPolicy", v)
	if !strings.Contains(out, "<IsTruncated>true</IsTruncated><Marker>1</Marker>") {
		t.Errorf("pagination: %s", out)
	}
}
