package respond

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/authz"
	"github.com/bulwark-security/bulwark/internal/awsproto"
)

func (e *env) api(t *testing.T, p *api.Principal, action string, in any) (any, error) {
	t.Helper()
	svc := API(APIConfig{Engine: e.eng, Authorizer: authz.RootOnly{}})
	if _, err := api.NewRegistry(svc); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(in)
	c := &api.Call{Service: svc, Action: svc.Action(action), Principal: p, Region: "us-east-1", Time: time.Now(), Body: body}
	op, err := c.Action.Bind(c)
	if err != nil {
		return nil, err
	}
	return op.Run(context.Background())
}

func TestRulesAPI(t *testing.T) {
	e := newEnv(t)
	root := &api.Principal{Type: "Root", ARN: "arn:aws:iam::" + acct + ":root", AccountID: acct}
	user := &api.Principal{Type: "IAMUser", ARN: "arn:aws:iam::" + acct + ":user/alice", AccountID: acct, UserName: "alice"}
	rule := `{"Pattern": {"GeneratorId": ["bulwark/signature-failures"]}, "Actions": [{"Type": "DisableAccessKey"}, {"Type": "NotifyTopic", "TopicArn": "` + topicARN + `"}]}`
	code := func(err error) string {
		var ae *awsproto.Error
		if errors.As(err, &ae) {
			return ae.Code
		}
		if err != nil {
			return err.Error()
		}
		return ""
	}
	tests := []struct {
		name   string
		p      *api.Principal
		action string
		in     map[string]any
		code   string
	}{
		{"put", root, "PutResponseRule", map[string]any{"Name": "brute", "Rule": rule}, ""},
		{"put invalid", root, "PutResponseRule", map[string]any{"Name": "bad", "Rule": `{"Pattern":{}}`}, "ValidationException"},
		{"put bad name", root, "PutResponseRule", map[string]any{"Name": "a b", "Rule": rule}, "ValidationException"},
		{"put another account's topic", root, "PutResponseRule", map[string]any{"Name": "x",
			"Rule": `{"Pattern": {"GeneratorId": ["g"]}, "Actions": [{"Type": "NotifyTopic", "TopicArn": "arn:aws:sns:us-east-1:999999999999:t"}]}`}, "ValidationException"},
		// The rule would deactivate keys: the caller must be allowed to.
		{"put without the implied permissions", user, "PutResponseRule", map[string]any{"Name": "sneaky", "Rule": rule}, "AccessDeniedException"},
		{"get", root, "GetResponseRule", map[string]any{"Name": "brute"}, ""},
		{"get missing", root, "GetResponseRule", map[string]any{"Name": "nope"}, "ResourceNotFoundException"},
		{"list", root, "ListResponseRules", map[string]any{}, ""},
		{"test match", root, "TestResponseRule", map[string]any{"Rule": rule, "Finding": sampleFinding}, ""},
		{"test bad finding", root, "TestResponseRule", map[string]any{"Rule": rule, "Finding": "[]"}, "ValidationException"},
		{"executions", root, "ListResponseExecutions", map[string]any{"RuleName": "brute"}, ""},
		{"delete", root, "DeleteResponseRule", map[string]any{"Name": "brute"}, ""},
		{"delete again", root, "DeleteResponseRule", map[string]any{"Name": "brute"}, "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.api(t, tt.p, tt.action, tt.in)
			if got := code(err); got != tt.code {
				t.Fatalf("error %q, want %q", got, tt.code)
			}
			switch tt.name {
			case "get":
				if r := res.(ruleOutput); r.Name != "brute" || !r.Enabled || r.Rule != rule {
					t.Errorf("get = %+v", r)
				}
			case "list":
				if l := res.(listOutput); len(l.Rules) != 1 {
					t.Errorf("list = %+v", l)
				}
			case "test match":
				if !res.(testOutput).Match {
					t.Error("sample finding does not match")
				}
			}
		})
	}
}
