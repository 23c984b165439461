package policy

import (
	"slices"
	"testing"
)

// IAM User Guide, "Variables and tags": an unresolvable variable keeps the
// statement from applying, and Simulate still reports the absent key (IAM's
// MissingContextValues), as Evaluate does.
func TestSimulateUnresolvableVariable(t *testing.T) {
	docs := []string{
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","NotResource":"arn:aws:s3:::b/${aws:PrincipalTag/team}/*"}}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalTag/owner":"${aws:PrincipalTag/team}"}}}}`,
	}
	for _, doc := range docs {
		p := mustParse(t, []byte(doc), Options{})
		ctx := &Context{}
		ctx.Set("aws:PrincipalTag/owner", "alice")
		req := &Request{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/x/y", Context: ctx,
			Principal: Principal{ARN: "arn:aws:iam::111122223333:user/alice", Account: "111122223333"}}
		sim := Simulate(&Set{Identity: []*Policy{p}}, req)
		if sim.Decision.Effect != ImplicitDeny || len(sim.Matched) != 0 {
			t.Errorf("%s: effect %v, matched %d; want implicitDeny, none", doc, sim.Decision.Effect, len(sim.Matched))
		}
		want := []string{"aws:PrincipalTag/team"}
		if !slices.Equal(sim.MissingKeys, want) || !slices.Equal(sim.Decision.MissingKeys(), want) {
			t.Errorf("%s: missing %q / %q, want %q", doc, sim.MissingKeys, sim.Decision.MissingKeys(), want)
		}
	}
}

// IAM User Guide, "Single-valued vs. multivalued context keys".
func TestMultiValuedKeys(t *testing.T) {
	for _, k := range []string{"aws:TagKeys", "AWS:CALLEDVIA", "aws:PrincipalServiceNamesList", "aws:PrincipalOrgPaths", "sts:TransitiveTagKeys", "kms:EncryptionContextKeys"} {
		if !isMultiValuedKey(k) {
			t.Errorf("%s not multivalued", k)
		}
	}
	for _, k := range []string{"aws:username", "aws:PrincipalTag/team", "aws:SourceVpc", "aws:TagKeys/x"} {
		if isMultiValuedKey(k) {
			t.Errorf("%s multivalued", k)
		}
	}
}
