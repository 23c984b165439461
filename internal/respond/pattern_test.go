package respond

import (
	"encoding/json"
	"testing"
)

const sampleFinding = `{
 "SchemaVersion": "2018-10-08", "Id": "f-1", "ProductArn": "arn:aws:securityhub:us-east-1::product/bulwark/detect",
 "GeneratorId": "bulwark/signature-failures", "AwsAccountId": "123456789012",
 "Types": ["TTPs/Credential Access/Brute Force", "Effects/Data Exposure"],
 "Severity": {"Label": "HIGH", "Normalized": 70},
 "Title": "t", "Description": "d", "RecordState": "ACTIVE", "Workflow": {"Status": "NEW"},
 "ProductFields": {"bulwark/count": "12"},
 "Resources": [{"Type": "AwsIamAccessKey", "Id": "AKIAEXAMPLE"}, {"Type": "AwsIamUser", "Id": "arn:aws:iam::123456789012:user/alice",
   "Details": {"AwsIamUser": {"UserName": "alice"}}}],
 "Empty": [], "Null": null
}`

func TestPattern(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal([]byte(sampleFinding), &doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		pattern string
		match   bool
	}{
		{"literal", `{"GeneratorId": ["bulwark/signature-failures"]}`, true},
		{"one of", `{"GeneratorId": ["x", "bulwark/signature-failures"]}`, true},
		{"no literal", `{"GeneratorId": ["x"]}`, false},
		{"nested", `{"Severity": {"Label": ["HIGH", "CRITICAL"]}}`, true},
		{"nested miss", `{"Severity": {"Label": ["LOW"]}}`, false},
		{"all fields must match", `{"Severity": {"Label": ["HIGH"]}, "GeneratorId": ["x"]}`, false},
		{"prefix in a list", `{"Types": [{"prefix": "TTPs/Credential Access"}]}`, true},
		{"prefix miss", `{"Types": [{"prefix": "Software"}]}`, false},
		{"suffix", `{"GeneratorId": [{"suffix": "-failures"}]}`, true},
		{"equals-ignore-case", `{"Severity": {"Label": [{"equals-ignore-case": "high"}]}}`, true},
		{"anything-but", `{"Severity": {"Label": [{"anything-but": ["LOW", "INFORMATIONAL"]}]}}`, true},
		{"anything-but miss", `{"Severity": {"Label": [{"anything-but": "HIGH"}]}}`, false},
		{"numeric", `{"Severity": {"Normalized": [{"numeric": [">=", 70, "<", 90]}]}}`, true},
		{"numeric miss", `{"Severity": {"Normalized": [{"numeric": [">", 70]}]}}`, false},
		{"numeric on a string", `{"GeneratorId": [{"numeric": [">", 0]}]}`, false},
		{"number literal", `{"Severity": {"Normalized": [70]}}`, true},
		{"object in a list", `{"Resources": {"Type": ["AwsIamUser"]}}`, true},
		{"object in a list, deeper", `{"Resources": {"Details": {"AwsIamUser": {"UserName": ["alice"]}}}}`, true},
		{"object in a list miss", `{"Resources": {"Type": ["AwsIamRole"]}}`, false},
		{"one element must match all", `{"Resources": {"Type": ["AwsIamAccessKey"], "Id": ["arn:aws:iam::123456789012:user/alice"]}}`, false},
		{"exists", `{"ProductFields": {"bulwark/count": [{"exists": true}]}}`, true},
		{"exists miss", `{"Note": [{"exists": true}]}`, false},
		{"absent", `{"Note": [{"exists": false}]}`, true},
		{"empty list is absent", `{"Empty": [{"exists": false}]}`, true},
		{"null is absent", `{"Null": [{"exists": false}]}`, true},
		{"absent field does not match a literal", `{"Note": ["x"]}`, false},
		{"object against a scalar", `{"GeneratorId": {"x": ["y"]}}`, false},
		{"null literal", `{"Null": [null]}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePattern(json.RawMessage(tt.pattern))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Match(doc); got != tt.match {
				t.Errorf("Match = %v, want %v", got, tt.match)
			}
		})
	}
}

func TestParsePatternErrors(t *testing.T) {
	for _, bad := range []string{
		`[]`, `{}`, `"x"`, `{"a": "x"}`, `{"a": []}`, `{"a": {}}`, `{"a": [{"prefix": 1}]}`, `{"a": [{"prefix": "x", "suffix": "y"}]}`,
		`{"a": [{"unknown": "x"}]}`, `{"a": [{"numeric": [">", "x"]}]}`, `{"a": [{"numeric": ["!", 1]}]}`, `{"a": [{"numeric": [">"]}]}`,
		`{"a": [{"exists": "yes"}]}`, `{"a": [{"anything-but": [{"prefix": "x"}]}]}`, `{"a": [["nested"]]}`,
		`{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":["x"]}}}}}}}}}`,
	} {
		if _, err := ParsePattern(json.RawMessage(bad)); err == nil {
			t.Errorf("ParsePattern(%s) succeeded", bad)
		}
	}
}

func TestParseRule(t *testing.T) {
	ok := `{"Pattern": {"GeneratorId": ["x"]}, "Actions": [{"Type": "DisableAccessKey"}, {"Type": "NotifyTopic", "TopicArn": "arn:aws:sns:us-east-1:123456789012:t"},
		{"Type": "QuarantinePrincipal", "PolicyName": "Q"}, {"Type": "RevokeRoleSessions"}]}`
	if _, err := ParseRule([]byte(ok)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		`{}`,
		`{"Pattern": {"GeneratorId": ["x"]}}`,
		`{"Pattern": {"GeneratorId": ["x"]}, "Actions": []}`,
		`{"Pattern": {"GeneratorId": ["x"]}, "Actions": [{"Type": "DeleteEverything"}]}`,
		`{"Pattern": {"GeneratorId": ["x"]}, "Actions": [{"Type": "NotifyTopic"}]}`,
		`{"Pattern": {"GeneratorId": ["x"]}, "Actions": [{"Type": "NotifyTopic", "TopicArn": "arn:aws:sqs:us-east-1:123456789012:q"}]}`,
		`{"Pattern": {"GeneratorId": ["x"]}, "Actions": [{"Type": "QuarantinePrincipal", "PolicyName": "bad name"}]}`,
		`{"Pattern": {"GeneratorId": ["x"]}, "Actions": [{"Type": "RevokeRoleSessions", "IncludeRoot": true}]}`,
		`{"Pattern": {"GeneratorId": ["x"]}, "Actions": [{"Type": "DisableAccessKey"}], "Extra": 1}`,
		`{"Pattern": {"GeneratorId": ["x"]}, "Actions": [{"Type": "DisableAccessKey"}]} trailing`,
	} {
		if _, err := ParseRule([]byte(bad)); err == nil {
			t.Errorf("ParseRule(%s) succeeded", bad)
		}
	}
}

func FuzzParsePattern(f *testing.F) {
	f.Add(`{"Severity": {"Label": ["HIGH"]}}`, sampleFinding)
	f.Add(`{"Types": [{"prefix": "TTPs/"}], "Resources": {"Type": ["AwsIamAccessKey"]}}`, sampleFinding)
	f.Add(`{"a": [{"numeric": [">=", 1, "<", 2]}, {"exists": false}, {"anything-but": ["x", 1]}]}`, `{"a": [1.5, "x"]}`)
	f.Fuzz(func(t *testing.T, pattern, finding string) {
		p, err := ParsePattern(json.RawMessage(pattern))
		if err != nil {
			return
		}
		var doc map[string]any
		if json.Unmarshal([]byte(finding), &doc) != nil {
			return
		}
		_ = p.Match(doc)
		// The same pattern inside a rule parses too.
		if _, err := ParseRule([]byte(`{"Pattern":` + pattern + `,"Actions":[{"Type":"DisableAccessKey"}]}`)); err != nil && len(pattern) < 1024 {
			var v any
			if json.Unmarshal([]byte(pattern), &v) == nil {
				t.Fatalf("pattern parses alone but not in a rule: %v", err)
			}
		}
	})
}
