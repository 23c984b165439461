package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/audit"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/sigv4"
)

type findIn struct{ Name, Password string }

func restService() *api.Service {
	return &api.Service{
		SigningName: "hub", EventSource: "hub.amazonaws.com", Protocol: api.RESTJSON,
		AccessDeniedCode: "AccessDeniedException", AccessDeniedStatus: 403,
		Actions: []api.Action{
			api.Define(api.Action{Name: "Find", IAMAction: "hub:Find", Access: api.AccessRead, HTTPMethod: "POST", HTTPPath: "/things"},
				func(*api.Call, *findIn) []string { return []string{"arn:aws:hub:us-east-1:111122223333:hub/default"} },
				func(_ context.Context, c *api.Call, in *findIn) (any, error) {
					switch in.Name {
					case "bad":
						return nil, awsproto.Errorf(400, "InvalidInputException", "Name is bad")
					case "echo": // a validation message that repeats its input
						return nil, awsproto.Errorf(400, "InvalidInputException", "Password '%s' is too weak for %s", in.Password, in.Name)
					}
					return map[string]string{"Name": in.Name, "Caller": c.Principal.ARN}, nil
				}),
			api.Define(api.Action{Name: "Patch", IAMAction: "hub:Patch", Access: api.AccessWrite, HTTPMethod: "PATCH", HTTPPath: "/things/batch"},
				func(*api.Call, *findIn) []string { return []string{"arn:aws:hub:us-east-1:111122223333:hub/default"} },
				func(context.Context, *api.Call, *findIn) (any, error) { return nil, nil }),
		},
	}
}

// TestRESTJSONProtocol: REST-JSON actions are routed by the credential
// scope's service and the method and path, and answer REST-JSON errors;
// the JSON 1.1 service beside it is unchanged.
func TestRESTJSONProtocol(t *testing.T) {
	mem := &audit.Memory{}
	reg, err := api.NewRegistry(jsonService(), restService())
	if err != nil {
		t.Fatal(err)
	}
	v, err := sigv4.NewVerifier(sigv4.Config{Credentials: fakeCreds{}, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: reg, Verifier: v,
		Principals: fakeCreds{}, Authorizer: authz.RootOnly{}, Audit: mem, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, akid, method, path, ctype, body string
		badSig                                bool
		status                                int
		code                                  string
	}{
		{"ok", rootKey, "POST", "/things", "application/json", `{"Name":"n"}`, false, 200, ""},
		{"patch empty result", rootKey, "PATCH", "/things/batch", "application/json", `{}`, false, 200, ""},
		{"no content type", rootKey, "POST", "/things", "", `{"Name":"n"}`, false, 200, ""},
		{"wrong method", rootKey, "GET", "/things", "", ``, false, 404, "UnknownOperationException"},
		{"unknown path", rootKey, "POST", "/nothing", "application/json", `{}`, false, 404, "UnknownOperationException"},
		{"wrong content type", rootKey, "POST", "/things", "text/plain", `{}`, false, 400, "SerializationException"},
		{"bad json", rootKey, "POST", "/things", "application/json", `{"Name":`, false, 400, "SerializationException"},
		{"handler error", rootKey, "POST", "/things", "application/json", `{"Name":"bad"}`, false, 400, "InvalidInputException"},
		{"error echoes a secret", rootKey, "POST", "/things", "application/json", `{"Name":"echo","Password":"correct-horse"}`, false, 400, "InvalidInputException"},
		{"denied", userKey, "POST", "/things", "application/json", `{"Name":"n"}`, false, 403, "AccessDeniedException"},
		{"bad signature", rootKey, "POST", "/things", "application/json", `{"Name":"n"}`, true, 400, "InvalidSignatureException"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://127.0.0.1:4747"+tc.path, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if err := sigv4.Sign(req, []byte(tc.body), tc.akid, secret, "", "us-east-1", "hub", time.Now()); err != nil {
				t.Fatal(err)
			}
			if tc.badSig {
				req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "Signature=", "Signature=00", 1))
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			var out map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if tc.code == "" {
				if tc.method == "POST" && out["Caller"] != "arn:aws:iam::111122223333:root" {
					t.Fatalf("body %s", w.Body)
				}
				return
			}
			if w.Header().Get("X-Amzn-Errortype") != tc.code || out["__type"] != tc.code || out["Code"] != tc.code {
				t.Fatalf("headers %v body %s, want code %s", w.Header(), w.Body, tc.code)
			}
		})
	}
	evs := mem.Events()
	if len(evs) != len(cases) || evs[0].EventName != "Find" || evs[0].EventSource != "hub.amazonaws.com" ||
		evs[len(evs)-1].ErrorCode != "SignatureDoesNotMatch" {
		t.Fatalf("audit events: %+v", evs)
	}
	// The trail never repeats a hidden value, not even in an error message.
	for _, e := range evs {
		if b, _ := e.AppendJSON(nil); strings.Contains(string(b), "correct-horse") {
			t.Fatalf("a hidden value reached the trail: %s", b)
		}
	}
	if m := evs[8].ErrorMessage; m != "Password '"+audit.Hidden+"' is too weak for echo" {
		t.Fatalf("redacted error message %q", m)
	}
	// The JSON 1.1 service still answers as before.
	w, out := jsonCall(t, s, rootKey, "things.GetThing", `{"ThingId":"t1"}`)
	if w.Code != 200 || out["ThingId"] != "t1" || w.Header().Get("Content-Type") != awsproto.JSONContentType {
		t.Fatalf("JSON service: %d %s", w.Code, w.Body)
	}
}
