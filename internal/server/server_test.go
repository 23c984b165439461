package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
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

// fakeCreds knows two keys: the root's and a user's.
type fakeCreds struct{}

var (
	rootKey = "AKIAROOTROOTROOTROOT"
	userKey = "AKIAUSERUSERUSERUSER"
	secret  = []byte("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
)

func (fakeCreds) SecretKey(_ context.Context, akid, token string) ([]byte, error) {
	if akid != rootKey && akid != userKey {
		return nil, sigv4.ErrUnknownKey
	}
	return secret, nil
}

func (fakeCreds) Principal(_ context.Context, akid, _ string) (*api.Principal, error) {
	if akid == rootKey {
		return &api.Principal{Type: "Root", ARN: "arn:aws:iam::111122223333:root", AccountID: "111122223333", UserID: "111122223333", AccessKeyID: akid}, nil
	}
	return &api.Principal{Type: "IAMUser", ARN: "arn:aws:iam::111122223333:user/bob", AccountID: "111122223333", UserID: "AIDABOB", UserName: "bob", AccessKeyID: akid}, nil
}

type getThingIn struct {
	ThingId string
}

func (in *getThingIn) Validate() error {
	if in.ThingId == "" {
		return awsproto.ValidationException("1 validation error detected: Value null at 'thingId' failed to satisfy constraint: Member must not be null")
	}
	return nil
}

type failingSink struct{}

func (failingSink) Record(context.Context, *audit.Event) error { return errors.New("disk full") }

func jsonService() *api.Service {
	return &api.Service{
		SigningName: "things", EventSource: "things.amazonaws.com", Protocol: api.JSON, TargetPrefix: "things",
		AccessDeniedCode: "AccessDeniedException", AccessDeniedStatus: 400,
		Actions: []api.Action{
			api.Define(api.Action{Name: "GetThing", IAMAction: "things:GetThing", Access: api.AccessRead},
				func(c *api.Call, in *getThingIn) []string {
					return []string{"arn:aws:things:us-east-1:111122223333:thing/" + in.ThingId}
				},
				func(_ context.Context, c *api.Call, in *getThingIn) (any, error) {
					if in.ThingId == "boom" {
						return nil, errors.New("database exploded with password hunter2")
					}
					return map[string]string{"ThingId": in.ThingId, "Caller": c.Principal.ARN}, nil
				}),
		},
	}
}

func newTestServer(t *testing.T, sink audit.Sink) *Server {
	t.Helper()
	reg, err := api.NewRegistry(jsonService())
	if err != nil {
		t.Fatal(err)
	}
	v, err := sigv4.NewVerifier(sigv4.Config{Credentials: fakeCreds{}, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: reg, Verifier: v,
		Principals: fakeCreds{}, Authorizer: authz.RootOnly{}, Audit: sink, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func jsonCall(t *testing.T, s *Server, akid, target, body string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest("POST", "http://127.0.0.1:4747/", strings.NewReader(body))
	req.Header.Set("Content-Type", awsproto.JSONContentType)
	req.Header.Set("X-Amz-Target", target)
	if akid != "" {
		if err := sigv4.Sign(req, []byte(body), akid, secret, "", "us-east-1", "things", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w, out
}

func TestJSONProtocol(t *testing.T) {
	mem := &audit.Memory{}
	s := newTestServer(t, mem)
	cases := []struct {
		name, akid, target, body string
		status                   int
		code                     string
	}{
		{"ok", rootKey, "things.GetThing", `{"ThingId":"t1"}`, 200, ""},
		{"unknown operation", rootKey, "things.Nope", `{}`, 400, "UnknownOperationException"},
		{"wrong prefix", rootKey, "other.GetThing", `{}`, 400, "UnknownOperationException"},
		{"bad json", rootKey, "things.GetThing", `{"ThingId":`, 400, "SerializationException"},
		{"wrong type", rootKey, "things.GetThing", `{"ThingId":5}`, 400, "SerializationException"},
		{"validation", rootKey, "things.GetThing", `{}`, 400, "ValidationException"},
		{"denied", userKey, "things.GetThing", `{"ThingId":"t1"}`, 400, "AccessDeniedException"},
		{"unsigned", "", "things.GetThing", `{"ThingId":"t1"}`, 403, "MissingAuthenticationTokenException"},
		// JSON services spell InvalidClientTokenId as UnrecognizedClientException (400).
		{"unknown key", "AKIANOBODYNOBODYNOBO", "things.GetThing", `{"ThingId":"t1"}`, 400, "UnrecognizedClientException"},
		{"internal error hidden", rootKey, "things.GetThing", `{"ThingId":"boom"}`, 500, "InternalFailure"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, out := jsonCall(t, s, tc.akid, tc.target, tc.body)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.code == "" {
				if out["ThingId"] != "t1" || out["Caller"] != "arn:aws:iam::111122223333:root" {
					t.Fatalf("body %s", w.Body)
				}
				return
			}
			if out["__type"] != tc.code || w.Header().Get("Content-Type") != awsproto.JSONContentType {
				t.Fatalf("body %s, want __type %s", w.Body, tc.code)
			}
			if bytes.Contains(w.Body.Bytes(), []byte("hunter2")) {
				t.Fatal("internal error leaked to the client")
			}
		})
	}
	// Every call was audited, with its error code.
	evs := mem.Events()
	if len(evs) != len(cases) {
		t.Fatalf("%d audit events for %d calls", len(evs), len(cases))
	}
	if evs[0].EventName != "GetThing" || evs[0].ErrorCode != "" || evs[0].UserIdentity.ARN != "arn:aws:iam::111122223333:root" || !evs[0].ReadOnly {
		t.Fatalf("event 0: %+v", evs[0])
	}
	if evs[6].ErrorCode != "AccessDeniedException" || !strings.Contains(evs[6].ErrorMessage, "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: things:GetThing on resource: arn:aws:things:us-east-1:111122223333:thing/t1 because no identity-based policy allows the things:GetThing action") {
		t.Fatalf("event 6: %+v", evs[6])
	}
	if evs[8].UserIdentity.AccessKeyID != "AKIANOBODYNOBODYNOBO" || evs[8].ErrorCode != "InvalidClientTokenId" {
		t.Fatalf("event 8: %+v", evs[8])
	}
	// The record carries the decoded input and the result (CloudTrail's
	// spelling), the resources, and CloudTrail's constant fields; a denied
	// call has its input but no result; a call that failed before its
	// input was decoded has neither.
	if string(evs[0].RequestParameters) != `{"thingId":"t1"}` ||
		string(evs[0].ResponseElements) != `{"caller":"arn:aws:iam::111122223333:root","thingId":"t1"}` ||
		len(evs[0].Resources) != 1 || evs[0].Resources[0].ARN != "arn:aws:things:us-east-1:111122223333:thing/t1" ||
		evs[0].Resources[0].Type != "AWS::Things::Thing" || evs[0].EventType != "AwsApiCall" || !evs[0].ManagementEvent ||
		evs[0].EventVersion != audit.EventVersion || evs[0].RecipientAccountID != "111122223333" {
		t.Fatalf("event 0: %+v", evs[0])
	}
	if string(evs[6].RequestParameters) != `{"thingId":"t1"}` || evs[6].ResponseElements != nil {
		t.Fatalf("denied event: %s %s", evs[6].RequestParameters, evs[6].ResponseElements)
	}
	if evs[3].RequestParameters != nil || evs[3].ResponseElements != nil {
		t.Fatalf("undecodable call: %s %s", evs[3].RequestParameters, evs[3].ResponseElements)
	}
}

// TestAuditFailureFailsRequest: a call whose audit record cannot be written
// is refused (Vault's rule).
func TestAuditFailureFailsRequest(t *testing.T) {
	s := newTestServer(t, failingSink{})
	w, out := jsonCall(t, s, rootKey, "things.GetThing", `{"ThingId":"t1"}`)
	if w.Code != 500 || out["__type"] != "InternalFailure" {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestOperational(t *testing.T) {
	s := newTestServer(t, &audit.Memory{})
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want {
			t.Errorf("%s: %d", path, w.Code)
		}
	}
	s.Drain()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining: %d", w.Code)
	}
}
