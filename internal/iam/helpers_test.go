package iam

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

const testAccount = "111122223333"

var testNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// testSealer marks sealed values so tests can tell them from plaintext.
type testSealer struct{}

func (testSealer) Seal(p, aad []byte) ([]byte, error) {
	out := append([]byte("sealed("+string(aad)+"):"), p...)
	for i := range out {
		out[i] ^= 0x5a
	}
	return out, nil
}

// testStore is a store with the IAM part: the in-memory fake or SQLite.
type testStore interface {
	store.Store
	store.IAM
}

type harness struct {
	t         *testing.T
	st        testStore
	svc       *api.Service
	principal *api.Principal
	forgotten []string
}

// bothStores runs a test against the in-memory fake and the SQLite store.
func bothStores(t *testing.T, test func(t *testing.T, h *harness)) {
	t.Run("fake", func(t *testing.T) { test(t, newHarness(t, newMemStore())) })
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), ":memory:", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		test(t, newHarness(t, st))
	})
}

func newHarness(t *testing.T, st testStore) *harness {
	t.Helper()
	h := &harness{t: t, st: st}
	if err := h.st.CreateAccount(context.Background(), store.Account{ID: testAccount, CreatedAt: testNow.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := SeedManagedPolicies(context.Background(), h.st, testNow); err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{Store: h.st, IAM: h.st, Keyring: testSealer{}, Now: func() time.Time { return testNow },
		OnAccessKeyChange: func(id string) { h.forgotten = append(h.forgotten, id) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.NewRegistry(svc); err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	h.principal = rootPrincipal()
	return h
}

func rootPrincipal() *api.Principal {
	return &api.Principal{Type: "Root", ARN: "arn:aws:iam::" + testAccount + ":root", AccountID: testAccount,
		UserID: testAccount, AccessKeyID: "AKIAROOTROOTROOTROOT"}
}

// result is one call's outcome: the encoded XML response or the error.
type result struct {
	body string
	err  *awsproto.Error
	op   *api.Op
}

func (r result) code() string {
	if r.err == nil {
		return ""
	}
	return r.err.Code
}

// bind decodes a call without running it.
func (h *harness) bind(action string, kv ...string) (*api.Op, error) {
	h.t.Helper()
	a := h.svc.Action(action)
	if a == nil {
		h.t.Fatalf("no action %s", action)
	}
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	c := &api.Call{RequestID: "req-1", Service: h.svc, Action: a, Principal: h.principal, Region: "us-east-1",
		Time: testNow, Params: v}
	return a.Bind(c)
}

// call runs an action as the server would (without authorisation) and
// encodes its result.
func (h *harness) call(action string, kv ...string) result {
	h.t.Helper()
	op, err := h.bind(action, kv...)
	if err == nil {
		var out any
		out, err = op.Run(context.Background())
		if err == nil {
			var res any
			if out != nil {
				res = out
			}
			b, eerr := awsproto.QueryResponse(Namespace, action, "req-1", res)
			if eerr != nil {
				h.t.Fatalf("%s: encode: %v", action, eerr)
			}
			checkXML(h.t, b)
			recordResponse(action, b)
			return result{body: string(b), op: op}
		}
	}
	var pub *awsproto.Error
	if !errors.As(err, &pub) {
		h.t.Fatalf("%s: internal error (would be InternalFailure): %v", action, err)
	}
	return result{err: pub, op: op}
}

// ok runs a call that must succeed.
func (h *harness) ok(action string, kv ...string) string {
	h.t.Helper()
	r := h.call(action, kv...)
	if r.err != nil {
		h.t.Fatalf("%s %v: %v", action, kv, r.err)
	}
	return r.body
}

func checkXML(t *testing.T, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return
			}
			t.Fatalf("response is not well-formed XML: %v\n%s", err, b)
		}
	}
}

// step is one call of a scenario and what it must answer.
type step struct {
	name   string
	action string
	params []string
	code   string   // expected error code, "" for success
	want   []string // substrings of the body (or of the error message)
	not    []string // substrings that must not appear
}

func (h *harness) run(steps []step) {
	h.t.Helper()
	for _, s := range steps {
		name := s.name
		if name == "" {
			name = s.action
		}
		h.t.Run(name, func(t *testing.T) {
			r := h.call(s.action, s.params...)
			if r.code() != s.code {
				t.Fatalf("%s: code %q (%v), want %q\nbody: %s", s.action, r.code(), r.err, s.code, r.body)
			}
			text := r.body
			if r.err != nil {
				text = r.err.Message
				wantStatus := statusOf(s.code)
				if wantStatus != 0 && r.err.Status != wantStatus {
					t.Errorf("%s: status %d, want %d", s.code, r.err.Status, wantStatus)
				}
			}
			for _, w := range s.want {
				if !strings.Contains(text, w) {
					t.Errorf("%s: %q missing from\n%s", s.action, w, text)
				}
			}
			for _, w := range s.not {
				if strings.Contains(text, w) {
					t.Errorf("%s: %q must not appear in\n%s", s.action, w, text)
				}
			}
		})
	}
}

func statusOf(code string) int {
	switch code {
	case "NoSuchEntity":
		return 404
	case "EntityAlreadyExists", "DeleteConflict", "LimitExceeded":
		return 409
	case "ValidationError", "InvalidInput", "MalformedPolicyDocument", "UnmodifiableEntity":
		return 400
	}
	return 0
}

// p builds a parameter list.
func p(kv ...string) []string { return kv }

const trustDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

const s3Doc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket/*"}]}`

func policyARN(name string) string { return "arn:aws:iam::" + testAccount + ":policy/" + name }
