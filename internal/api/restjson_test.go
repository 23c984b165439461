package api

import (
	"strings"
	"testing"
)

func restSvc(actions ...Action) *Service {
	return &Service{SigningName: "hub", EventSource: "hub.amazonaws.com", Protocol: RESTJSON,
		AccessDeniedCode: "AccessDeniedException", AccessDeniedStatus: 403, Actions: actions}
}

func TestRESTJSONRoutes(t *testing.T) {
	row := func(name, method, path string) Action {
		return Define(Action{Name: name, IAMAction: "hub:" + name, Access: AccessRead, HTTPMethod: method, HTTPPath: path}, res, echo)
	}
	bad := []struct {
		name string
		svc  *Service
		want string
	}{
		{"no route", restSvc(row("Get", "", "")), "required for REST-JSON"},
		{"route on a query service", svc(row("Echo", "POST", "/echo")), "only there"},
		{"bad method", restSvc(row("Get", "FETCH", "/x")), "bad route"},
		{"path label", restSvc(row("Get", "GET", "/x/{Id}")), "bad route"},
		{"relative path", restSvc(row("Get", "GET", "x")), "bad route"},
		{"duplicate route", restSvc(row("Get", "POST", "/x"), row("List", "POST", "/x")), "declared twice"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRegistry(tc.svc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	s := restSvc(row("Get", "POST", "/findings"), row("Update", "PATCH", "/findings/batchupdate"))
	if _, err := NewRegistry(s); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/findings", "Get"}, {"PATCH", "/findings/batchupdate", "Update"},
		{"GET", "/findings", ""}, {"POST", "/findings/", ""}, {"POST", "/Findings", ""},
	} {
		got := ""
		if a := s.Route(tc.method, tc.path); a != nil {
			got = a.Name
		}
		if got != tc.want {
			t.Errorf("Route(%s %s) = %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}

func TestRESTJSONBindDecodesJSON(t *testing.T) {
	type in struct{ Name string }
	a := Define(Action{Name: "Get", IAMAction: "hub:Get", Access: AccessRead, HTTPMethod: "POST", HTTPPath: "/get"},
		func(_ *Call, in *in) []string { return []string{in.Name} }, nil)
	s := restSvc(a)
	if _, err := NewRegistry(s); err != nil {
		t.Fatal(err)
	}
	op, err := s.Action("Get").Bind(&Call{Service: s, Body: []byte(`{"Name":"n1"}`)})
	if err != nil || len(op.Resources) != 1 || op.Resources[0] != "n1" {
		t.Fatalf("Bind = %+v, %v", op, err)
	}
	if _, err := s.Action("Get").Bind(&Call{Service: s, Body: []byte(`{"Name":`)}); err == nil {
		t.Fatal("Bind accepted bad JSON")
	}
}
