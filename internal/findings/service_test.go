package findings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/api"
	"github.com/bulwark-security/bulwark/internal/awsproto"
)

// call runs one action of the service as the server would after
// authorisation: bind (decode and validate) and run.
func call(t *testing.T, h *Hub, action, account, body string) (map[string]any, error) {
	t.Helper()
	svc := h.Service()
	if _, err := api.NewRegistry(svc); err != nil {
		t.Fatal(err)
	}
	c := &api.Call{Service: svc, Action: svc.Action(action), Region: region, Body: []byte(body),
		Principal: &api.Principal{Type: "Root", AccountID: account, ARN: "arn:aws:iam::" + account + ":root"}}
	op, err := c.Action.Bind(c)
	if err != nil {
		return nil, err
	}
	if len(op.Resources) != 1 || op.Resources[0] != HubARN(region, account) {
		t.Fatalf("resources %v", op.Resources)
	}
	res, err := op.Run(context.Background())
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(res)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out, nil
}

func code(err error) string {
	var e *awsproto.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return fmt.Sprint(err)
}

func TestServiceImport(t *testing.T) {
	h, _ := newHub(t)
	mk := func(id, product, account string) string {
		f := sample(id)
		f.ProductARN, f.AwsAccountID = product, account
		b, _ := json.Marshal(f)
		return string(b)
	}
	own := DefaultProductARN(region, acct)
	big := `{"Id":"huge","Title":"` + strings.Repeat("x", MaxFindingBytes) + `"}`
	body := `{"Findings":[` + strings.Join([]string{
		mk("ok", own, acct),
		mk("other-account", DefaultProductARN(region, other), other),
		mk("other-product-account", DefaultProductARN(region, other), acct),
		mk("other-region", DefaultProductARN("eu-west-1", acct), acct),
		mk("forged", h.ProductARN(), acct),
		`{"Id":"bad","SchemaVersion":"2018-10-08"}`,
		`"not an object"`,
		big,
	}, ",") + `]}`
	out, err := call(t, h, "BatchImportFindings", acct, body)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"other-account": "AccessDeniedException", "other-product-account": "AccessDeniedException",
		"other-region": "AccessDeniedException", "forged": "AccessDeniedException", "bad": "InvalidInput",
		"unknown": "InvalidInput", "huge": "FindingSizeExceeded"}
	got := map[string]string{}
	for _, f := range out["FailedFindings"].([]any) {
		m := f.(map[string]any)
		got[m["Id"].(string)] = m["ErrorCode"].(string)
		if m["ErrorMessage"] == "" {
			t.Errorf("no message for %v", m)
		}
	}
	if out["SuccessCount"] != 1.0 || out["FailedCount"] != 7.0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("import: %v / %v", out, got)
	}
	for _, bad := range []string{`{}`, `{"Findings":[]}`, `{"Findings":[` + strings.Repeat(`{},`, MaxBatch) + `{}]}`, `{"Findings":`} {
		if _, err := call(t, h, "BatchImportFindings", acct, bad); err == nil {
			t.Errorf("BatchImportFindings(%.40s) succeeded", bad)
		}
	}
}

func TestServiceGetAndUpdate(t *testing.T) {
	h, _ := newHub(t)
	for _, id := range []string{"a", "b", "c"} {
		if _, _, err := h.Import(context.Background(), sample(id)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := call(t, h, "GetFindings", acct, `{"Filters":{"Id":[{"Value":"b","Comparison":"NOT_EQUALS"}]},"MaxResults":1,
		"SortCriteria":[{"Field":"CreatedAt","SortOrder":"asc"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if fs := out["Findings"].([]any); len(fs) != 1 || out["NextToken"] == nil {
		t.Fatalf("page 1: %v", out)
	}
	if out, err := call(t, h, "GetFindings", other, `{}`); err != nil || len(out["Findings"].([]any)) != 0 {
		t.Fatalf("another account sees %v, %v", out, err)
	}
	for _, bad := range []string{`{"MaxResults":101}`, `{"Filters":{"Nope":[]}}`, `{"SortCriteria":[{"Field":"Title"}]}`,
		`{"NextToken":"x"}`, `{"Filters":{"Title":[{"Value":"x","Comparison":"CONTAINS_WORD"}]}}`} {
		if _, err := call(t, h, "GetFindings", acct, bad); code(err) != "InvalidInputException" {
			t.Errorf("GetFindings(%s) = %v, want InvalidInputException", bad, err)
		}
	}
	p := DefaultProductARN(region, acct)
	out, err = call(t, h, "BatchUpdateFindings", acct, `{"FindingIdentifiers":[{"Id":"a","ProductArn":"`+p+`"},{"Id":"zz","ProductArn":"`+p+`"}],
		"Workflow":{"Status":"NOTIFIED"},"Note":{"Text":"n","UpdatedBy":"me"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(out["ProcessedFindings"].([]any)) != 1 || len(out["UnprocessedFindings"].([]any)) != 1 {
		t.Fatalf("update: %v", out)
	}
	if f, _ := h.Get(context.Background(), Identifier{ID: "a", ProductARN: p}); f.Workflow.Status != WorkflowNotified || f.WorkflowState != "ASSIGNED" {
		t.Fatalf("after update: %+v", f.Workflow)
	}
	// Another account's update finds nothing.
	out, err = call(t, h, "BatchUpdateFindings", other, `{"FindingIdentifiers":[{"Id":"a","ProductArn":"`+p+`"}],"Workflow":{"Status":"RESOLVED"}}`)
	if err != nil || len(out["UnprocessedFindings"].([]any)) != 1 {
		t.Fatalf("cross-account update: %v, %v", out, err)
	}
	for _, bad := range []string{`{"FindingIdentifiers":[]}`, `{"FindingIdentifiers":[{"Id":"a"}],"Workflow":{"Status":"NEW"}}`,
		`{"FindingIdentifiers":[{"Id":"a","ProductArn":"p"}]}`, `{"FindingIdentifiers":[{"Id":"a","ProductArn":"p"}],"Workflow":{"Status":"OPEN"}}`} {
		if _, err := call(t, h, "BatchUpdateFindings", acct, bad); code(err) != "InvalidInputException" {
			t.Errorf("BatchUpdateFindings(%s) = %v, want InvalidInputException", bad, err)
		}
	}
}

func TestCloneInvalidRaw(t *testing.T) {
	f := sample("x")
	f.Extra = map[string]json.RawMessage{"Remediation": json.RawMessage(`{`)}
	f.Resources[0].Details = json.RawMessage(`nope`)
	c := f.Clone() // must not panic
	if c.ID != "x" || c.Extra != nil || c.Resources[0].Details != nil {
		t.Fatalf("clone %+v", c)
	}
	c.Types[0] = "changed"
	if f.Types[0] == "changed" {
		t.Fatal("clone shares Types")
	}
	if err := validate(&f); !IsInvalid(err) {
		t.Fatalf("validate accepted invalid raw JSON: %v", err)
	}
}

func TestServiceHub(t *testing.T) {
	h, _ := newHub(t)
	h.cfg.SubscribedAt = func(context.Context, string) (time.Time, error) { return t0, nil }
	out, err := call(t, h, "DescribeHub", acct, ``)
	if err != nil || out["HubArn"] != HubARN(region, acct) || out["SubscribedAt"] != "2026-11-23T10:00:00.000Z" {
		t.Fatalf("DescribeHub = %v, %v", out, err)
	}
	if _, err := call(t, h, "EnableSecurityHub", acct, `{"EnableDefaultStandards":false}`); code(err) != "ResourceConflictException" {
		t.Fatalf("EnableSecurityHub = %v", err)
	}
}
