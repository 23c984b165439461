package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Conformance cases live in testdata/*.json; each cites the rule of the
// AWS documentation it checks.

type principalCase struct {
	Type          string `json:"type"` // iam (default), root, service, federated, anonymous
	ARN           string `json:"arn"`
	Issuer        string `json:"issuer"`
	Account       string `json:"account"`
	Service       string `json:"service"`
	Federated     string `json:"federated"`
	CanonicalUser string `json:"canonicalUser"`
}

func (p principalCase) principal(t *testing.T) Principal {
	out := Principal{ARN: p.ARN, IssuerARN: p.Issuer, Account: p.Account, Service: p.Service, Federated: p.Federated, CanonicalUser: p.CanonicalUser}
	switch p.Type {
	case "", "iam":
	case "root":
		out.Type = PrincipalRoot
	case "service":
		out.Type = PrincipalService
	case "federated":
		out.Type = PrincipalFederated
	case "anonymous":
		out.Type = PrincipalAnonymous
	default:
		t.Fatalf("unknown principal type %q", p.Type)
	}
	return out
}

type requestCase struct {
	Action          string              `json:"action"`
	Resource        string              `json:"resource"`
	ResourceAccount string              `json:"resourceAccount"`
	Principal       principalCase       `json:"principal"`
	Context         map[string][]string `json:"context"`
}

func (r requestCase) request(t *testing.T) *Request {
	req := &Request{Action: r.Action, Resource: r.Resource, ResourceAccount: r.ResourceAccount, Principal: r.Principal.principal(t), Context: &Context{}}
	keys := make([]string, 0, len(r.Context))
	for k := range r.Context {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		req.Context.Set(k, r.Context[k]...)
	}
	return req
}

type evalCase struct {
	Name         string            `json:"name"`
	Rule         string            `json:"rule"`
	Identity     []json.RawMessage `json:"identity"`
	Boundary     json.RawMessage   `json:"boundary"`
	Session      []json.RawMessage `json:"session"`
	Resource     json.RawMessage   `json:"resource"`
	ResourceKind string            `json:"resourceKind"` // "resource" (default) or "trust"
	Required     bool              `json:"requireResourceAllow"`
	Request      requestCase       `json:"request"`
	Want         string            `json:"want"`
	Reason       string            `json:"reason"`
	Missing      []string          `json:"missing"`
	Deciding     []string          `json:"deciding"` // "type:policy:index"
}

func loadCases[T any](t *testing.T, pattern string) map[string][]T {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test data for %s: %v", pattern, err)
	}
	out := map[string][]T{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cases []T
		if err := json.Unmarshal(b, &cases); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = cases
	}
	return out
}

func mustParse(t testing.TB, raw []byte, o Options) *Policy {
	t.Helper()
	p, err := ParseOptions(raw, o)
	if err != nil {
		t.Fatalf("parse %s: %v", raw, err)
	}
	return p
}

func (c *evalCase) set(t *testing.T) *Set {
	s := &Set{RequireResourceAllow: c.Required}
	for i, raw := range c.Identity {
		s.Identity = append(s.Identity, mustParse(t, raw, Options{ID: "identity" + itoa(i), SizeLimit: -1}))
	}
	if len(c.Boundary) > 0 && string(c.Boundary) != "null" {
		s.Boundary = mustParse(t, c.Boundary, Options{ID: "boundary", SizeLimit: -1})
	}
	for i, raw := range c.Session {
		s.Session = append(s.Session, mustParse(t, raw, Options{Kind: KindSession, ID: "session" + itoa(i), SizeLimit: -1}))
	}
	if len(c.Resource) > 0 && string(c.Resource) != "null" {
		k := KindResource
		if c.ResourceKind == "trust" {
			k = KindTrust
		}
		s.Resource = mustParse(t, c.Resource, Options{Kind: k, ID: "resource", SizeLimit: -1})
	}
	return s
}

var effectNames = map[string]Effect{"Allow": Allow, "ExplicitDeny": ExplicitDeny, "ImplicitDeny": ImplicitDeny}

var reasonNames = map[string]Reason{
	"IdentityAllow": ReasonIdentityAllow, "ResourceAllow": ReasonResourceAllow, "BothAllow": ReasonBothAllow,
	"RootUser": ReasonRootUser, "ExplicitDeny": ReasonExplicitDeny, "NoIdentityAllow": ReasonNoIdentityAllow,
	"NoBoundaryAllow": ReasonNoBoundaryAllow, "NoSessionAllow": ReasonNoSessionAllow, "NoResourceAllow": ReasonNoResourceAllow,
}

func TestEvaluateConformance(t *testing.T) {
	for file, cases := range loadCases[evalCase](t, "eval_*.json") {
		for _, c := range cases {
			t.Run(file+"/"+c.Name, func(t *testing.T) {
				if c.Rule == "" {
					t.Fatal("case does not cite the rule it checks")
				}
				want, ok := effectNames[c.Want]
				if !ok {
					t.Fatalf("bad want %q", c.Want)
				}
				s := c.set(t)
				req := c.Request.request(t)
				d := Evaluate(s, req)
				if d.Effect != want {
					t.Fatalf("%s\nEffect = %v (%v), want %v", c.Rule, d.Effect, d.Reason, want)
				}
				if c.Reason != "" {
					if r, ok := reasonNames[c.Reason]; !ok || d.Reason != r {
						t.Errorf("%s\nReason = %v, want %s", c.Rule, d.Reason, c.Reason)
					}
				}
				if c.Missing != nil {
					got := d.MissingKeys()
					if !slices.Equal(got, c.Missing) && !(len(got) == 0 && len(c.Missing) == 0) {
						t.Errorf("%s\nMissingKeys = %q, want %q", c.Rule, got, c.Missing)
					}
				}
				if c.Deciding != nil {
					var got []string
					for _, r := range d.Statements() {
						got = append(got, r.PolicyType().String()+":"+r.PolicyID()+":"+itoa(r.Index()))
					}
					if !slices.Equal(got, c.Deciding) {
						t.Errorf("%s\nStatements = %q, want %q", c.Rule, got, c.Deciding)
					}
				}
				// Determinism: the same inputs decide the same way.
				if d2 := Evaluate(s, req); d2 != d {
					t.Errorf("second evaluation differs: %+v vs %+v", d2, d)
				}
				// Every path of the evaluation is allocation-free.
				if n := testing.AllocsPerRun(10, func() { Evaluate(s, req) }); n != 0 {
					t.Errorf("Evaluate allocates %v times", n)
				}
			})
		}
	}
}

// conditionCase checks one condition operator against one request
// context: a policy allowing everything under that condition is evaluated.
type conditionCase struct {
	Rule      string          `json:"rule"`
	Version   string          `json:"version"`
	Condition json.RawMessage `json:"condition"`
	Context   json.RawMessage `json:"context"`
	Want      bool            `json:"want"`
}

func TestConditionConformance(t *testing.T) {
	for file, cases := range loadCases[conditionCase](t, "conditions_*.json") {
		for i, c := range cases {
			name := file + "/" + itoa(i) + "/" + strings.ReplaceAll(string(c.Condition), "/", "|")
			t.Run(name, func(t *testing.T) {
				if c.Rule == "" {
					t.Fatal("case does not cite the rule it checks")
				}
				version := c.Version
				if version == "" {
					version = Version2012
				}
				doc := `{"Version":"` + version + `","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":` + string(c.Condition) + `}}`
				p := mustParse(t, []byte(doc), Options{SizeLimit: -1})
				var ctx map[string][]string
				if len(c.Context) > 0 {
					if err := json.Unmarshal(c.Context, &ctx); err != nil {
						t.Fatal(err)
					}
				}
				req := requestCase{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Principal: principalCase{ARN: "arn:aws:iam::111122223333:user/alice", Account: "111122223333"}, Context: ctx}.request(t)
				d := EvaluatePolicy(p, req)
				if got := d.Effect == Allow; got != c.Want {
					t.Fatalf("%s\ncondition %s with context %s: got %v, want %v", c.Rule, c.Condition, c.Context, got, c.Want)
				}
			})
		}
	}
}

type parseCase struct {
	Name      string          `json:"name"`
	Rule      string          `json:"rule"`
	Kind      string          `json:"kind"`
	SizeLimit int             `json:"sizeLimit"`
	Policy    json.RawMessage `json:"policy"` // an object, or a string holding raw text
	Code      string          `json:"code"`   // empty: must parse
	Messages  []string        `json:"messages"`
	Canonical string          `json:"canonical"`
}

var kindNames = map[string]Kind{
	"": KindIdentity, "identity": KindIdentity, "user-inline": KindUserInline, "group-inline": KindGroupInline,
	"role-inline": KindRoleInline, "session": KindSession, "trust": KindTrust, "resource": KindResource,
}

func TestParseConformance(t *testing.T) {
	for file, cases := range loadCases[parseCase](t, "parse_*.json") {
		for _, c := range cases {
			t.Run(file+"/"+c.Name, func(t *testing.T) {
				if c.Rule == "" {
					t.Fatal("case does not cite the rule it checks")
				}
				raw := []byte(c.Policy)
				var s string
				if json.Unmarshal(c.Policy, &s) == nil {
					raw = []byte(s)
				}
				kind, ok := kindNames[c.Kind]
				if !ok {
					t.Fatalf("bad kind %q", c.Kind)
				}
				p, err := ParseOptions(raw, Options{Kind: kind, SizeLimit: c.SizeLimit})
				if c.Code == "" {
					if err != nil {
						t.Fatalf("%s\nunexpected error: %v", c.Rule, err)
					}
					if c.Canonical != "" && string(p.JSON()) != c.Canonical {
						t.Errorf("canonical JSON\n got %s\nwant %s", p.JSON(), c.Canonical)
					}
					return
				}
				pe, ok := err.(*Error)
				if !ok {
					t.Fatalf("%s\nerror = %v, want *Error with code %s", c.Rule, err, c.Code)
				}
				if pe.Code != c.Code {
					t.Errorf("Code = %s, want %s", pe.Code, c.Code)
				}
				var got []string
				for _, pr := range pe.Problems {
					got = append(got, pr.Message)
				}
				for _, m := range c.Messages {
					if !slices.ContainsFunc(got, func(g string) bool { return strings.Contains(g, m) }) {
						t.Errorf("%s\nproblems %q do not include %q", c.Rule, got, m)
					}
				}
			})
		}
	}
}
