package policy

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestContext(t *testing.T) {
	var c Context
	if _, ok := c.Lookup("a:b"); ok {
		t.Fatal("zero Context has keys")
	}
	c.Set("aws:SourceIp", "10.0.0.1")
	c.Set("aws:TagKeys", "a", "b")
	c.Add("aws:PrincipalTag/team", "red")
	c.Add("AWS:TAGKEYS", "c") // not the last key: re-homed
	c.Add("aws:tagkeys", "d")
	if v, ok := c.Lookup("AWS:sourceip"); !ok || !slices.Equal(v, []string{"10.0.0.1"}) {
		t.Errorf("Lookup SourceIp = %q, %v", v, ok)
	}
	if v, _ := c.Lookup("aws:TagKeys"); !slices.Equal(v, []string{"a", "b", "c", "d"}) {
		t.Errorf("Lookup TagKeys = %q", v)
	}
	c.Set("aws:SourceIp", "10.0.0.2")
	if v, _ := c.Lookup("aws:SourceIp"); !slices.Equal(v, []string{"10.0.0.2"}) {
		t.Errorf("Set did not replace: %q", v)
	}
	if got := len(c.Keys()); got != 3 {
		t.Errorf("Keys() = %q", c.Keys())
	}
	c.Delete("aws:principaltag/TEAM")
	if _, ok := c.Lookup("aws:PrincipalTag/team"); ok {
		t.Error("Delete left the key")
	}
	c.Reset()
	if len(c.Keys()) != 0 {
		t.Error("Reset left keys")
	}
	var nilCtx *Context
	if _, ok := nilCtx.Lookup("x"); ok {
		t.Error("nil Context has keys")
	}
}

func TestErrorFormat(t *testing.T) {
	_, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Sid":"One","Effect":"Allowx","Action":"*","Resource":"*"},{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}`), KindIdentity)
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v", err)
	}
	if pe.Code != CodeMalformed || len(pe.Problems) != 2 {
		t.Fatalf("got %+v", pe)
	}
	if pe.Problems[0].Statement != 0 || pe.Problems[0].Sid != "One" || pe.Problems[1].Statement != 1 {
		t.Errorf("locations wrong: %+v", pe.Problems)
	}
	if pe.Message() != "Invalid effect: Allowx" {
		t.Errorf("Message() = %q", pe.Message())
	}
	want := `MalformedPolicyDocument: Invalid effect: Allowx (statement 0 "One"); Policy document should not specify a principal. (statement 1)`
	if pe.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", pe.Error(), want)
	}
}

// IAM User Guide, "IAM and AWS STS quotas": policy sizes per kind.
func TestKindLimits(t *testing.T) {
	limits := map[Kind]int{
		KindIdentity: 6144, KindUserInline: 2048, KindGroupInline: 5120, KindRoleInline: 10240,
		KindSession: 2048, KindTrust: 2048, KindResource: 20480,
	}
	for k, want := range limits {
		if got := k.DefaultLimit(); got != want {
			t.Errorf("%v.DefaultLimit() = %d, want %d", k, got, want)
		}
		// A document one character over the limit is refused.
		stmt := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::`
		principal := ""
		if k.IsResourceBased() {
			principal = `,"Principal":"*"`
		}
		tail := `"` + principal + `}}`
		if k == KindTrust {
			stmt = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::111122223333:user/`
			tail = `"}}}`
		}
		fill := want - len(stmt) - len(tail)
		ok := []byte(stmt + strings.Repeat("a", fill) + tail)
		if _, err := Parse(ok, k); err != nil {
			t.Errorf("%v: document of exactly %d characters refused: %.200v", k, want, err)
		}
		over := []byte(stmt + strings.Repeat("a", fill+1) + tail)
		var pe *Error
		if _, err := Parse(over, k); !errors.As(err, &pe) || pe.Code != CodeLimitExceeded {
			t.Errorf("%v: document of %d characters: err = %.200v, want LimitExceeded", k, want+1, err)
		} else if !strings.Contains(pe.Message(), itoa(want)) {
			t.Errorf("%v: message %q does not give the limit", k, pe.Message())
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		sec  int64
		nsec int64
		ok   bool
	}{
		{"0", 0, 0, true},
		{"1700000000", 1700000000, 0, true},
		{"1700000000.25", 1700000000, 250000000, true},
		{"-1.5", -2, 500000000, true},
		{"1970-01-02", 86400, 0, true},
		{"2026-11-23T09:00:00Z", 1795424400, 0, true},
		{"2026-11-23T10:00:00+01:00", 1795424400, 0, true},
		{"2026-11-23T04:30:00-0430", 1795424400, 0, true},
		{"2026-11-23T09:00Z", 1795424400, 0, true},
		{"2026-11-23T09:00:00.123456789123Z", 1795424400, 123456789, true},
		{"2024-02-29", 1709164800, 0, true},
		{"2023-02-29", 0, 0, false},
		{"2026-13-01", 0, 0, false},
		{"2026-11-23T25:00:00Z", 0, 0, false},
		{"2026-11-23T09:00:00.Z", 0, 0, false},
		{"2026-11-23X", 0, 0, false},
		{"", 0, 0, false},
		{"-", 0, 0, false},
		{"abc", 0, 0, false},
	}
	for _, tt := range tests {
		got, ok := parseTime(tt.in)
		if ok != tt.ok || (ok && (got.sec != tt.sec || got.nsec != tt.nsec)) {
			t.Errorf("parseTime(%q) = %+v, %v; want {%d %d}, %v", tt.in, got, ok, tt.sec, tt.nsec, tt.ok)
		}
	}
}

// IAM User Guide, "Policy variables": syntax of variables and defaults.
func TestParseVariable(t *testing.T) {
	tests := []struct {
		in      string
		kind    tokKind
		key     string
		def     string
		hasDef  bool
		n       int
		wantErr bool
	}{
		{in: "${aws:username}", kind: tVar, key: "aws:username", n: 15},
		{in: "${ aws:username }rest", kind: tVar, key: "aws:username", n: 17},
		{in: "${aws:username, 'nobody'}", kind: tVar, key: "aws:username", def: "nobody", hasDef: true, n: 25},
		{in: "${k,'it''s'}", kind: tVar, key: "k", def: "it's", hasDef: true, n: 12},
		{in: "${k, '}'}", kind: tVar, key: "k", def: "}", hasDef: true, n: 9},
		{in: "${*}", kind: tLit, key: "*", n: 4},
		{in: "${?}", kind: tLit, key: "?", n: 4},
		{in: "${$}", kind: tLit, key: "$", n: 4},
		{in: "${}", wantErr: true},
		{in: "${aws:username", wantErr: true},
		{in: "${k, nodefault}", wantErr: true},
		{in: "${k, 'a'b'}", wantErr: true},
		{in: "${a b}", wantErr: true},
	}
	for _, tt := range tests {
		tk, n, ok := parseVariable(tt.in)
		if ok == tt.wantErr {
			t.Errorf("parseVariable(%q) ok = %v", tt.in, ok)
			continue
		}
		if !ok {
			continue
		}
		if tk.kind != tt.kind || tk.s != tt.key || tk.def != tt.def || tk.hasDef != tt.hasDef || n != tt.n {
			t.Errorf("parseVariable(%q) = %+v, %d", tt.in, tk, n)
		}
	}
}

func TestConditionKeysAndAccessors(t *testing.T) {
	p, err := ParseOptions([]byte(`{"Version":"2012-10-17","Statement":[
		{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*",
		 "Condition":{"StringEquals":{"aws:PrincipalTag/team":"${aws:ResourceTag/team}","AWS:USERNAME":"x"},"Bool":{"aws:SecureTransport":true}}}]}`),
		Options{ID: "p1"})
	if err != nil {
		t.Fatal(err)
	}
	got := p.ConditionKeys()
	want := []string{"aws:username", "aws:SecureTransport", "aws:PrincipalTag/team", "aws:ResourceTag/team"}
	if !slices.Equal(got, want) {
		t.Errorf("ConditionKeys() = %q, want %q", got, want)
	}
	if p.ID() != "p1" || p.Kind() != KindIdentity || len(p.Statements()) != 1 || p.Document().Version != Version2012 {
		t.Errorf("accessors wrong")
	}
	ctx := &Context{}
	ctx.Set("aws:username", "alice")
	d := EvaluatePolicy(p, &Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/alice/x", Context: ctx,
		Principal: Principal{ARN: "arn:aws:iam::1:user/alice", Account: "111122223333"}})
	if d.Effect != ImplicitDeny {
		t.Fatalf("Effect = %v", d.Effect)
	}
	missing := d.MissingKeys()
	slices.Sort(missing)
	// Conditions are ANDed and evaluation stops at the first false one, so
	// only the key that decided is reported.
	if !slices.Equal(missing, []string{"aws:SecureTransport"}) {
		t.Errorf("MissingKeys() = %q", missing)
	}
	ctx.Set("aws:SecureTransport", "true")
	ctx.Set("aws:PrincipalTag/team", "red")
	ctx.Set("aws:ResourceTag/team", "red")
	d = EvaluatePolicy(p, &Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/alice/x", Context: ctx,
		Principal: Principal{ARN: "arn:aws:iam::1:user/alice", Account: "111122223333"}})
	// AWS:USERNAME must equal "x" and is "alice".
	if d.Effect != ImplicitDeny {
		t.Fatalf("Effect = %v", d.Effect)
	}
	ctx.Set("aws:username", "x")
	d = EvaluatePolicy(p, &Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::home/x/y", Context: ctx,
		Principal: Principal{ARN: "arn:aws:iam::1:user/x", Account: "111122223333"}})
	if !d.Allowed() || d.Reason != ReasonIdentityAllow {
		t.Fatalf("Effect = %v (%v)", d.Effect, d.Reason)
	}
	s := d.Statements()
	if len(s) != 1 || s[0].Sid() != "A" || s[0].PolicyID() != "p1" || s[0].Index() != 0 || s[0].PolicyType() != TypeIdentity || s[0].Policy() != p {
		t.Errorf("Statements() = %+v", s)
	}
}

func TestMissingKeysTruncated(t *testing.T) {
	var conds []string
	for i := 0; i < 10; i++ {
		conds = append(conds, `"k:`+itoa(i)+`":"v"`)
	}
	p := mustParse(t, []byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringNotEquals":{`+strings.Join(conds, ",")+`}}}}`), Options{})
	d := EvaluatePolicy(p, &Request{Action: "a:b", Resource: "*", Principal: Principal{Account: "111122223333"}})
	if !d.Allowed() || len(d.MissingKeys()) != maxMissing || !d.MissingTruncated {
		t.Errorf("got %v, %d missing, truncated %v", d.Effect, len(d.MissingKeys()), d.MissingTruncated)
	}
}

func TestStrings(t *testing.T) {
	for _, s := range []string{ImplicitDeny.String(), Allow.String(), ExplicitDeny.String(), Kind(99).String(), TypeSession.String(), ReasonNoBoundaryAllow.String()} {
		if s == "" {
			t.Error("empty String()")
		}
	}
}

// The policy engine is pure: it must not reach the network, the store or
// the clock (STYLE.md, "Architecture checked by tests").
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	forbidden := []string{"net/http", "os/exec", "database/sql", "github.com/bulwark-security/bulwark/internal/store"}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if dep == f {
				t.Errorf("policy depends on %s", dep)
			}
		}
	}
}

// IAM API Reference, SimulatePrincipalPolicy: MatchedStatements with their
// positions, MissingContextValues, PermissionsBoundaryDecisionDetail.
func TestSimulate(t *testing.T) {
	id := mustParse(t, []byte(`{"Version":"2012-10-17",
"Statement":[
  {"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"},"StringEquals":{"aws:PrincipalTag/team":"red"}}},
  {"Sid":"B","Effect":"Allow","Action":"s3:Get*","Resource":"*"},
  {"Sid":"C","Effect":"Deny","Action":"iam:*","Resource":"*"}]}`), Options{ID: "id"})
	b := mustParse(t, []byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}`), Options{ID: "b"})
	req := &Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::x/y", Principal: Principal{ARN: "arn:aws:iam::111122223333:user/u", Account: "111122223333"}, Context: &Context{}}
	sim := Simulate(&Set{Identity: []*Policy{id}, Boundary: b}, req)
	if sim.Decision.Effect != ImplicitDeny || sim.Decision.Reason != ReasonNoBoundaryAllow || sim.BoundaryAllows {
		t.Errorf("decision %v %v, boundary allows %v", sim.Decision.Effect, sim.Decision.Reason, sim.BoundaryAllows)
	}
	if len(sim.Matched) != 1 || sim.Matched[0].Sid() != "B" {
		t.Errorf("Matched = %+v", sim.Matched)
	}
	if !slices.Equal(sim.MissingKeys, []string{"aws:SecureTransport", "aws:PrincipalTag/team"}) {
		t.Errorf("MissingKeys = %q", sim.MissingKeys)
	}
	st := id.Statements()[1]
	if st.Start != (Position{Line: 4, Column: 3}) || st.End != (Position{Line: 4, Column: 65}) {
		t.Errorf("statement B at %+v-%+v", st.Start, st.End)
	}
}
