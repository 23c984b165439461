package arn

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    ARN
		wantErr bool
	}{
		{in: "arn:aws:iam::123456789012:role/app", want: ARN{"aws", "iam", "", "123456789012", "role/app"}},
		{in: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", want: ARN{"aws", "secretsmanager", "us-east-1", "123456789012", "secret:db-AbCdEf"}},
		{in: "arn:aws:s3:::bucket/key:with:colons", want: ARN{"aws", "s3", "", "", "bucket/key:with:colons"}},
		{in: "arn:aws:sts::123456789012:assumed-role/app/sess", want: ARN{"aws", "sts", "", "123456789012", "assumed-role/app/sess"}},
		{in: "arn:aws:iam::123456789012", wantErr: true},
		{in: "urn:aws:iam::123456789012:root", wantErr: true},
		{in: "arn::iam::123456789012:root", wantErr: true},
		{in: "arn:aws:::123456789012:root", wantErr: true},
		{in: "arn:aws:iam::123456789012:", wantErr: true},
		{in: "", wantErr: true},
		{in: "arn:aws:iam::1:\xff", wantErr: true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("Parse(%q) error = %v, want ErrMalformed", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
}

// IAM User Guide, "IAM JSON policy elements: Resource" and "Condition
// operators: ARN condition operators": each of the six colon-delimited
// components is checked separately, case-sensitively, with * and ?.
func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, value string
		want           bool
	}{
		{"*", "anything at all", true},
		{"arn:aws:iam::123456789012:role/app", "arn:aws:iam::123456789012:role/app", true},
		{"arn:aws:iam::123456789012:role/app", "arn:aws:iam::123456789012:role/App", false},
		{"arn:aws:iam::123456789012:role/*", "arn:aws:iam::123456789012:role/path/app", true},
		{"arn:aws:iam::*:role/app", "arn:aws:iam::123456789012:role/app", true},
		{"arn:aws:iam::*:role/app", "arn:aws:iam::1:2:role/app", false}, // * stays in its component
		{"arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b:c", true},
		{"arn:aws:s3:::bucket/?", "arn:aws:s3:::bucket/x", true},
		{"arn:aws:s3:::bucket/?", "arn:aws:s3:::bucket/xy", false},
		{"arn:aws:secretsmanager:*:*:secret:db-??????", "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf", true},
		{"arn:aws:*", "arn:aws:iam::123456789012:role/x", true},
		{"arn:aws:iam", "arn:aws:iam::123456789012:role/x", false},
		{"arn:aws:iam::123456789012:*", "arn:aws:iam::123456789012:role/x", true},
		{"arn:aws:iam::123456789012:role/x", "arn:aws:iam::123456789012", false},
		{"arn:aws:iam::123456789012:role/x", "*", false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.value); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.value, got, tt.want)
		}
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		p, s       string
		want, fold bool
	}{
		{"", "", true, true},
		{"*", "", true, true},
		{"a*b*c", "aXXbYYc", true, true},
		{"a*b*c", "aXXbYY", false, false},
		{"s3:Get*", "s3:getobject", false, true},
		{"S3:GET?BJECT", "s3:getObject", false, true},
		{"?", "é", true, true},
		{"é*", "éa", true, true},
		{"**", "abc", true, true},
		{"a?c", "ac", false, false},
		{"\x99", "\xff", false, false}, // distinct invalid bytes
		{"\xff", "\xff", true, true},
	}
	for _, tt := range tests {
		if got := Glob(tt.p, tt.s); got != tt.want {
			t.Errorf("Glob(%q, %q) = %v, want %v", tt.p, tt.s, got, tt.want)
		}
		if got := GlobFold(tt.p, tt.s); got != tt.fold {
			t.Errorf("GlobFold(%q, %q) = %v, want %v", tt.p, tt.s, got, tt.fold)
		}
	}
}

func TestMatchAllocs(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		Match("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b:c")
	})
	if n != 0 {
		t.Fatalf("Match allocates %v times", n)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("arn:aws:iam::123456789012:role/app")
	f.Add("arn:aws:s3:::bucket/key")
	f.Add("arn:::::")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			return
		}
		if a.String() != s {
			t.Fatalf("round trip %q -> %q", s, a.String())
		}
		if !Match(s, s) && !containsWild(s) {
			t.Fatalf("%q does not match itself", s)
		}
	})
}

func FuzzMatch(f *testing.F) {
	f.Add("arn:aws:s3:::b/*", "arn:aws:s3:::b/x")
	f.Add("a*?*b", "axxb")
	f.Fuzz(func(t *testing.T, p, s string) {
		_ = Match(p, s)
		_ = GlobFold(p, s)
		if !containsWild(s) && !Glob(s, s) {
			t.Fatalf("%q does not glob itself", s)
		}
	})
}

func containsWild(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '*' || s[i] == '?' {
			return true
		}
	}
	return false
}
