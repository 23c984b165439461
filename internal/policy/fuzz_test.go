package policy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwark-security/bulwark/internal/arn"
)

// seedPolicies adds every policy of the conformance files to a corpus.
func seedPolicies(f *testing.F, add func(doc []byte)) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var cases []map[string]json.RawMessage
		if json.Unmarshal(b, &cases) != nil {
			continue
		}
		for _, c := range cases {
			for _, k := range []string{"policy", "boundary", "resource"} {
				if raw, ok := c[k]; ok {
					var s string
					if json.Unmarshal(raw, &s) == nil {
						add([]byte(s))
					} else {
						add(raw)
					}
				}
			}
			if raw, ok := c["identity"]; ok {
				var list []json.RawMessage
				if json.Unmarshal(raw, &list) == nil {
					for _, p := range list {
						add(p)
					}
				}
			}
		}
	}
}

// FuzzParse: Parse never panics, and the canonical JSON of an accepted
// document parses again to the same canonical JSON.
func FuzzParse(f *testing.F) {
	seedPolicies(f, func(doc []byte) { f.Add(doc, uint8(0)); f.Add(doc, uint8(KindResource)) })
	f.Fuzz(func(t *testing.T, doc []byte, kind uint8) {
		k := Kind(kind % uint8(KindResource+1))
		p, err := ParseOptions(doc, Options{Kind: k, SizeLimit: -1})
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		c1 := p.JSON()
		p2, err := ParseOptions(c1, Options{Kind: k, SizeLimit: -1})
		if err != nil {
			t.Fatalf("canonical form %s does not parse: %v", c1, err)
		}
		if c2 := p2.JSON(); !bytes.Equal(c1, c2) {
			t.Fatalf("canonical form not stable:\n%s\n%s", c1, c2)
		}
	})
}

// FuzzEvaluate: evaluation never panics, is deterministic, and adding a
// Deny statement never turns a denied request into an allowed one.
func FuzzEvaluate(f *testing.F) {
	seedPolicies(f, func(doc []byte) {
		f.Add(doc, []byte(`{"Effect":"Deny","Action":"s3:*","Resource":"*"}`), "s3:GetObject", "arn:aws:s3:::b/k", "aws:username", "alice")
	})
	f.Fuzz(func(t *testing.T, doc, deny []byte, action, resource, key, value string) {
		p, err := ParseOptions(doc, Options{SizeLimit: -1})
		if err != nil {
			return
		}
		ctx := &Context{}
		ctx.Set(key, value)
		ctx.Set("aws:username", "alice")
		req := &Request{
			Action: action, Resource: resource, ResourceAccount: "111122223333",
			Principal: Principal{ARN: "arn:aws:iam::111122223333:user/alice", Account: "111122223333"},
			Context:   ctx,
		}
		set := &Set{Identity: []*Policy{p}}
		d1 := Evaluate(set, req)
		if d2 := Evaluate(set, req); d1 != d2 {
			t.Fatalf("non-deterministic: %+v vs %+v", d1, d2)
		}
		// The action index only skips statements that cannot match.
		if d2 := Evaluate(&Set{Identity: []*Policy{unindexed(p)}}, req); d2.Effect != d1.Effect || d2.Reason != d1.Reason {
			t.Fatalf("index changes the decision: %v/%v with, %v/%v without", d1.Effect, d1.Reason, d2.Effect, d2.Reason)
		}
		// Append the fuzzed statement with its effect forced to Deny.
		var extra map[string]json.RawMessage
		if json.Unmarshal(deny, &extra) != nil {
			return
		}
		extra["Effect"] = json.RawMessage(`"Deny"`)
		stmt, _ := json.Marshal(extra)
		var top map[string]json.RawMessage
		if json.Unmarshal(p.JSON(), &top) != nil {
			t.Fatalf("canonical JSON does not decode: %s", p.JSON())
		}
		var stmts []json.RawMessage
		if json.Unmarshal(top["Statement"], &stmts) != nil {
			t.Fatalf("canonical Statement is not an array: %s", p.JSON())
		}
		stmts = append(stmts, stmt)
		top["Statement"], _ = json.Marshal(stmts)
		withDeny, _ := json.Marshal(top)
		p2, err := ParseOptions(withDeny, Options{SizeLimit: -1})
		if err != nil {
			return
		}
		d3 := Evaluate(&Set{Identity: []*Policy{p2}}, req)
		if d1.Effect != Allow && d3.Effect == Allow {
			t.Fatalf("adding a Deny turned %v into Allow\n%s", d1.Effect, withDeny)
		}
		// The same holds for a resource-based policy in front of the request.
		rp, err := ParseOptions([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`), Options{Kind: KindResource})
		if err != nil {
			t.Fatal(err)
		}
		d4 := Evaluate(&Set{Identity: []*Policy{p}, Resource: rp}, req)
		if d1.Effect == ExplicitDeny && d4.Effect != ExplicitDeny {
			t.Fatalf("an explicit deny was lost when a resource policy was added")
		}
	})
}

// FuzzMatchers checks the compiled fast paths against the reference
// matchers of package arn: resource patterns against arn.Match, action
// patterns against arn.GlobFold, and variable-free string patterns against
// arn.Glob.
func FuzzMatchers(f *testing.F) {
	f.Add("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a:b", "s3:Get*", "s3:getObject")
	f.Add("arn:aws:iam::*:role/x", "arn:aws:iam::1:role/x", "*", "iam:PassRole")
	f.Add("arn:aws:s3:::b/?*", "arn:aws:s3:::b/", "S*:?et*", "s3:GetObject")
	f.Fuzz(func(t *testing.T, rpat, res, apat, action string) {
		ev := &evaluator{dec: &Decision{}, req: &Request{Action: action}}
		ev.svc, ev.name, ev.colon = strings.Cut(action, ":")
		rp := compileARN(rpat, false)
		if got, want := rp.match(res, ev), arn.Match(rpat, res); got != want {
			t.Fatalf("resource %q vs %q: compiled %v, arn.Match %v", rpat, res, got, want)
		}
		if svc, name, ok := strings.Cut(apat, ":"); (ok && svc != "" && name != "") || apat == "*" {
			st := &cstmt{actions: []actPat{compileAction(apat)}}
			if got, want := ev.actionMatches(st), arn.GlobFold(apat, action); got != want && isASCII(apat+action) {
				t.Fatalf("action %q vs %q: compiled %v, GlobFold %v", apat, action, got, want)
			}
		}
		sp := compilePattern(rpat, false, true)
		if got, want := sp.match(res, false, ev), arn.Glob(rpat, res); got != want {
			t.Fatalf("string %q vs %q: compiled %v, arn.Glob %v", rpat, res, got, want)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// unindexed copies p with every statement filed as "any service", which is
// what evaluation would do without the action index.
func unindexed(p *Policy) *Policy {
	q := *p
	q.groups, q.svcMask, q.anySvc = nil, 0, nil
	for i := range q.stmts {
		q.anySvc = append(q.anySvc, int32(i))
	}
	return &q
}
