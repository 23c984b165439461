package api

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/bulwark-security/bulwark/internal/awsproto"
)

type echoIn struct{ Name string }

func (in *echoIn) DecodeQuery(v url.Values) error {
	in.Name = v.Get("Name")
	return nil
}

func (in *echoIn) Validate() error {
	if in.Name == "" {
		return awsproto.ValidationError("Name is required")
	}
	return nil
}

func echo(_ context.Context, _ *Call, in *echoIn) (any, error) { return in.Name, nil }

func res(_ *Call, in *echoIn) []string { return []string{"arn:aws:svc:::thing/" + in.Name} }

func svc(actions ...Action) *Service {
	return &Service{SigningName: "svc", EventSource: "svc.amazonaws.com", Protocol: Query, Version: "v1",
		XMLNamespace: "ns", AccessDeniedCode: "AccessDenied", AccessDeniedStatus: 403, Actions: actions}
}

func TestRegistryRefusesBadTables(t *testing.T) {
	good := Define(Action{Name: "Echo", IAMAction: "svc:Echo", Access: AccessRead}, res, echo)
	cases := []struct {
		name string
		svcs []*Service
		want string
	}{
		{"duplicate action", []*Service{svc(good, good)}, "declared twice"},
		{"missing access level", []*Service{svc(Define(Action{Name: "Echo", IAMAction: "svc:Echo"}, res, echo))}, "access level"},
		{"bad IAM action", []*Service{svc(Define(Action{Name: "Echo", IAMAction: "Echo", Access: AccessRead}, res, echo))}, "bad IAM action"},
		{"not built with Define", []*Service{svc(Action{Name: "Echo", IAMAction: "svc:Echo", Access: AccessRead})}, "api.Define"},
		{"duplicate service", []*Service{svc(good), svc(good)}, "registered twice"},
		{"query service without version", []*Service{{SigningName: "x", EventSource: "x", Protocol: Query, AccessDeniedCode: "A", AccessDeniedStatus: 403}}, "Version"},
		{"json service without target", []*Service{{SigningName: "x", EventSource: "x", Protocol: JSON, AccessDeniedCode: "A", AccessDeniedStatus: 400}}, "TargetPrefix"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRegistry(tc.svcs...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestBindDecodesValidatesAndRuns(t *testing.T) {
	s := svc(Define(Action{Name: "Echo", IAMAction: "svc:Echo", Access: AccessRead}, res, echo))
	r, err := NewRegistry(s)
	if err != nil {
		t.Fatal(err)
	}
	a := r.Service("svc").Action("Echo")
	c := &Call{Service: s, Action: a, Params: url.Values{"Name": {"x"}}}
	op, err := a.Bind(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(op.Resources) != 1 || op.Resources[0] != "arn:aws:svc:::thing/x" {
		t.Fatalf("resources %v", op.Resources)
	}
	if out, err := op.Run(context.Background()); err != nil || out != "x" {
		t.Fatalf("run: %v %v", out, err)
	}
	if _, err := a.Bind(&Call{Service: s, Action: a}); err == nil || awsproto.As(err).Code != "ValidationError" {
		t.Fatalf("validate: %v", err)
	}
	if !AccessList.ReadOnly() || AccessWrite.ReadOnly() {
		t.Fatal("ReadOnly")
	}
}
