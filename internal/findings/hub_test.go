package findings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

const (
	acct   = "123456789012"
	other  = "210987654321"
	region = "us-east-1"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func newHub(t *testing.T) (*Hub, *fakeClock) {
	t.Helper()
	s, err := sqlite.Open(context.Background(), ":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	clk := &fakeClock{t: t0}
	h, err := New(Config{Store: s, Region: region, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return h, clk
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func sample(id string) Finding {
	return Finding{
		SchemaVersion: SchemaVersion, ID: id, ProductARN: DefaultProductARN(region, acct),
		GeneratorID: "gen", AwsAccountID: acct, Types: []string{"TTPs/Credential Access/Brute Force"},
		CreatedAt: t0, UpdatedAt: t0, Severity: Severity{Label: SeverityHigh}, Title: "title " + id,
		Description: "description", Resources: []Resource{{Type: "AwsIamAccessKey", ID: "AKIAEXAMPLE"}},
	}
}

func TestImportValidation(t *testing.T) {
	tests := []struct {
		name string
		edit func(f *Finding)
		ok   bool
	}{
		{"valid", func(*Finding) {}, true},
		{"normalized only", func(f *Finding) { f.Severity = Severity{Normalized: 0, hasNormalized: true} }, true},
		{"no severity", func(f *Finding) { f.Severity = Severity{} }, false},
		{"bad label", func(f *Finding) { f.Severity.Label = "SEVERE" }, false},
		{"schema", func(f *Finding) { f.SchemaVersion = "2020-01-01" }, false},
		{"no id", func(f *Finding) { f.ID = "" }, false},
		{"bad product", func(f *Finding) { f.ProductARN = "arn:aws:iam::123456789012:root" }, false},
		{"bad account", func(f *Finding) { f.AwsAccountID = "12" }, false},
		{"no types", func(f *Finding) { f.Types = nil }, false},
		{"bad type namespace", func(f *Finding) { f.Types = []string{"Bogus/x"} }, false},
		{"no resources", func(f *Finding) { f.Resources = nil }, false},
		{"resource without id", func(f *Finding) { f.Resources[0].ID = "" }, false},
		{"no created", func(f *Finding) { f.CreatedAt = time.Time{} }, false},
		{"updated before created", func(f *Finding) { f.UpdatedAt = t0.Add(-time.Second) }, false},
		{"long title", func(f *Finding) { f.Title = string(make([]byte, 257)) }, false},
		{"nul", func(f *Finding) { f.Description = "a\x00b" }, false},
		{"record state", func(f *Finding) { f.RecordState = "GONE" }, false},
		{"confidence", func(f *Finding) { c := 101; f.Confidence = &c }, false},
		{"workflow", func(f *Finding) { f.Workflow.Status = "DONE" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newHub(t)
			f := sample("f-1")
			tt.edit(&f)
			_, _, err := h.Import(t.Context(), f)
			if tt.ok && err != nil {
				t.Fatalf("Import: %v", err)
			}
			if !tt.ok && !IsInvalid(err) {
				t.Fatalf("Import = %v, want an InvalidError", err)
			}
		})
	}
}

func TestImportRoundTripAndMerge(t *testing.T) {
	h, _ := newHub(t)
	ctx := t.Context()
	var changes []Change
	unsub := h.Subscribe(func(c Change) { changes = append(changes, c) })
	defer unsub()

	raw := `{"SchemaVersion":"2018-10-08","Id":"f-1","ProductArn":"` + DefaultProductARN(region, acct) + `",
		"GeneratorId":"gen","AwsAccountId":"` + acct + `","Types":["Effects/Data Exposure"],
		"CreatedAt":"2026-11-23T10:00:00.123456789+01:00","UpdatedAt":"2026-11-23T10:00:00Z",
		"Severity":{"Normalized":75},"Title":"t","Description":"d",
		"Resources":[{"Type":"Other","Id":"r","Details":{"Other":{"k":"v"}}}],
		"Remediation":{"Recommendation":{"Text":"fix it"}}}`
	var in Finding
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		t.Fatal(err)
	}
	got, kind, err := h.Import(ctx, in)
	if err != nil || kind != Created {
		t.Fatalf("Import = %v, %v", kind, err)
	}
	if got.Severity.Label != SeverityHigh || got.Workflow.Status != WorkflowNew || got.RecordState != RecordActive ||
		got.WorkflowState != "NEW" {
		t.Fatalf("derived fields: %+v %+v %s", got.Severity, got.Workflow, got.RecordState)
	}
	stored, err := h.Get(ctx, in.Key())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(stored)
	var back map[string]any
	_ = json.Unmarshal(b, &back)
	if back["Remediation"] == nil || back["CreatedAt"] != "2026-11-23T09:00:00.123456Z" {
		t.Fatalf("round trip lost data: %s", b)
	}
	if string(stored.Resources[0].Details) != `{"Other":{"k":"v"}}` {
		t.Fatalf("Details = %s", stored.Resources[0].Details)
	}

	// The customer resolves it; a provider update keeps the workflow, and
	// archive then re-activate resets it to NEW.
	procd, unproc := h.BatchUpdate(ctx, acct, []Identifier{in.Key()}, BatchUpdate{Workflow: &Workflow{Status: WorkflowResolved},
		Note: &NoteUpdate{Text: "looked", UpdatedBy: "alice"}})
	if len(procd) != 1 || len(unproc) != 0 {
		t.Fatalf("BatchUpdate = %v, %v", procd, unproc)
	}
	in.Title = "t2"
	in.UpdatedAt = t0.Add(time.Hour)
	got, kind, err = h.Import(ctx, in)
	if err != nil || kind != Updated || got.Title != "t2" || got.Workflow.Status != WorkflowResolved || got.Note == nil {
		t.Fatalf("provider update: %v %v %+v", kind, err, got)
	}
	in.RecordState = RecordArchived
	if _, _, err := h.Import(ctx, in); err != nil {
		t.Fatal(err)
	}
	in.RecordState = RecordActive
	got, _, err = h.Import(ctx, in)
	if err != nil || got.Workflow.Status != WorkflowNew {
		t.Fatalf("re-activated: %v %+v", err, got.Workflow)
	}
	if len(changes) != 5 || changes[0].Kind != Created || changes[0].Previous != nil || changes[1].Kind != Updated ||
		changes[1].Previous.Workflow.Status != WorkflowNew || changes[1].Finding.Workflow.Status != WorkflowResolved {
		t.Fatalf("changes: %d %+v", len(changes), changes)
	}
}

func TestBatchUpdateErrors(t *testing.T) {
	h, _ := newHub(t)
	ctx := t.Context()
	mine, theirs := sample("mine"), sample("theirs")
	theirs.AwsAccountID = other
	theirs.ProductARN = DefaultProductARN(region, other)
	for _, f := range []Finding{mine, theirs} {
		if _, _, err := h.Import(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	missing := Identifier{ID: "nope", ProductARN: mine.ProductARN}
	sev := 95
	procd, unproc := h.BatchUpdate(ctx, acct, []Identifier{mine.Key(), theirs.Key(), missing, missing},
		BatchUpdate{Severity: &SeverityUpdate{Normalized: &sev}, UserDefinedFields: map[string]string{"ticket": "SEC-1"}})
	if !reflect.DeepEqual(procd, []Identifier{mine.Key()}) {
		t.Fatalf("processed %v", procd)
	}
	codes := map[string]string{}
	for _, u := range unproc {
		codes[u.FindingIdentifier.ID] = u.ErrorCode
	}
	want := map[string]string{"theirs": "FindingNotFound", "nope": "DuplicatedFindingIdentifier"}
	if !reflect.DeepEqual(codes, want) || len(unproc) != 2 {
		t.Fatalf("unprocessed %v, want %v", unproc, want)
	}
	f, _ := h.Get(ctx, mine.Key())
	if f.Severity.Label != SeverityCritical || f.Severity.Normalized != 95 || f.UserDefinedFields["ticket"] != "SEC-1" {
		t.Fatalf("after update: %+v %v", f.Severity, f.UserDefinedFields)
	}
	for _, bad := range []BatchUpdate{{}, {Workflow: &Workflow{Status: "CLOSED"}}, {Severity: &SeverityUpdate{}},
		{Types: []string{"Nope"}}, {Note: &NoteUpdate{Text: "x"}}} {
		if err := bad.Check(); !IsInvalid(err) {
			t.Errorf("Check(%+v) = %v, want invalid", bad, err)
		}
	}
}

func TestUpsertConcurrent(t *testing.T) {
	h, _ := newHub(t)
	ctx := t.Context()
	key := Identifier{ID: "count", ProductARN: h.ProductARN()}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				_, _, err := h.Upsert(ctx, key, func(f *Finding, exists bool) error {
					if !exists {
						*f = sample(key.ID)
						f.ProductARN = key.ProductARN
						f.ProductFields = map[string]string{"n": "0"}
					}
					var n int
					fmt.Sscan(f.ProductFields["n"], &n)
					f.ProductFields["n"] = fmt.Sprint(n + 1)
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	f, err := h.Get(ctx, key)
	if err != nil || f.ProductFields["n"] != "20" {
		t.Fatalf("count = %v, %v; want 20", f.ProductFields["n"], err)
	}
	if _, err := h.Update(ctx, Identifier{ID: "absent", ProductARN: key.ProductARN}, func(*Finding) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Update(absent) = %v", err)
	}
	if _, _, err := h.Upsert(ctx, key, func(f *Finding, _ bool) error { f.ID = "other"; return nil }); !IsInvalid(err) {
		t.Fatalf("changing the key = %v", err)
	}
}

func ids(fs []Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

func TestQuery(t *testing.T) {
	h, clk := newHub(t)
	ctx := t.Context()
	labels := []string{SeverityLow, SeverityCritical, SeverityMedium, SeverityHigh, SeverityInformational}
	for i, l := range labels {
		f := sample(fmt.Sprintf("f-%d", i))
		f.Severity = Severity{Label: l}
		f.CreatedAt = t0.Add(time.Duration(i) * time.Hour)
		f.UpdatedAt = f.CreatedAt
		f.GeneratorID = fmt.Sprintf("gen-%d", i%2)
		f.Title = []string{"Root credential used", "Signature failures", "Root key", "Secret reads", "Other"}[i]
		if i == 3 {
			f.Types = []string{"Unusual Behaviors/User", "Effects/Data Exposure"}
			f.Resources = append(f.Resources, Resource{Type: "AwsIamUser", ID: "arn:aws:iam::123456789012:user/bob"})
		}
		if _, _, err := h.Import(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	theirs := sample("theirs")
	theirs.AwsAccountID, theirs.ProductARN = other, DefaultProductARN(region, other)
	if _, _, err := h.Import(ctx, theirs); err != nil {
		t.Fatal(err)
	}
	h.BatchUpdate(ctx, acct, []Identifier{{ID: "f-2", ProductARN: DefaultProductARN(region, acct)}}, BatchUpdate{Workflow: &Workflow{Status: WorkflowSuppressed}})
	clk.t = t0.Add(10 * 24 * time.Hour)

	s := func(cmp, v string) []StringFilter { return []StringFilter{{Value: v, Comparison: cmp}} }
	tests := []struct {
		name string
		f    Filters
		sort SortCriterion
		want []string
	}{
		{"default newest first", Filters{}, SortCriterion{}, []string{"f-4", "f-3", "f-2", "f-1", "f-0"}},
		{"created asc", Filters{}, SortCriterion{Field: "CreatedAt", SortOrder: "asc"}, []string{"f-0", "f-1", "f-2", "f-3", "f-4"}},
		{"severity desc", Filters{}, SortCriterion{Field: "SeverityLabel", SortOrder: "desc"}, []string{"f-1", "f-3", "f-2", "f-0", "f-4"}},
		{"label equals", Filters{SeverityLabel: []StringFilter{{"HIGH", Equals}, {"CRITICAL", Equals}}}, SortCriterion{}, []string{"f-3", "f-1"}},
		{"title prefix", Filters{Title: s(Prefix, "Root")}, SortCriterion{}, []string{"f-2", "f-0"}},
		{"title not equals", Filters{Title: []StringFilter{{"Root key", NotEquals}, {"Other", NotEquals}}}, SortCriterion{}, []string{"f-3", "f-1", "f-0"}},
		{"title prefix not equals", Filters{Title: s(PrefixNotEquals, "Root")}, SortCriterion{}, []string{"f-4", "f-3", "f-1"}},
		{"prefix then not equals", Filters{Title: []StringFilter{{"Root", Prefix}, {"Root key", NotEquals}}}, SortCriterion{}, []string{"f-0"}},
		{"title contains", Filters{Title: []StringFilter{{"credential", Contains}, {"reads", Contains}}}, SortCriterion{}, []string{"f-3", "f-0"}},
		{"title not contains", Filters{Title: s(NotContains, "o")}, SortCriterion{}, []string{"f-4", "f-3", "f-1"}},
		{"workflow", Filters{WorkflowStatus: s(Equals, WorkflowSuppressed)}, SortCriterion{}, []string{"f-2"}},
		{"record state", Filters{RecordState: s(Equals, RecordArchived)}, SortCriterion{}, []string{}},
		{"generator", Filters{GeneratorID: s(Equals, "gen-1")}, SortCriterion{}, []string{"f-3", "f-1"}},
		{"type prefix", Filters{Type: s(Prefix, "Effects/")}, SortCriterion{}, []string{"f-3"}},
		{"type not equals", Filters{Type: s(NotEquals, "Unusual Behaviors/User")}, SortCriterion{}, []string{"f-4", "f-2", "f-1", "f-0"}},
		{"resource id", Filters{ResourceID: s(Equals, "arn:aws:iam::123456789012:user/bob")}, SortCriterion{}, []string{"f-3"}},
		{"resource type", Filters{ResourceType: s(Equals, "AwsIamUser")}, SortCriterion{}, []string{"f-3"}},
		{"id", Filters{ID: s(Equals, "f-4")}, SortCriterion{}, []string{"f-4"}},
		{"own account only", Filters{AwsAccountID: s(Equals, other)}, SortCriterion{}, []string{}},
		{"created range", Filters{CreatedAt: []DateFilter{{Start: t0.Add(time.Hour).Format(time.RFC3339), End: t0.Add(2 * time.Hour).Format(time.RFC3339)}}}, SortCriterion{}, []string{"f-2", "f-1"}},
		{"updated within 11 days", Filters{UpdatedAt: []DateFilter{{DateRange: &DateRange{Value: 11, Unit: "DAYS"}}}}, SortCriterion{}, []string{"f-4", "f-3", "f-2", "f-1", "f-0"}},
		{"updated older than 9 days", Filters{UpdatedAt: []DateFilter{{DateRange: &DateRange{Value: 9, Unit: "DAYS", Comparison: "OLDER_THAN"}}}}, SortCriterion{}, []string{"f-4", "f-3", "f-2", "f-1", "f-0"}},
		{"updated within 9 days", Filters{UpdatedAt: []DateFilter{{DateRange: &DateRange{Value: 9, Unit: "DAYS"}}}}, SortCriterion{}, []string{}},
		{"severity number", Filters{SeverityNormalized: []NumberFilter{{Gte: ptr(40.0), Lt: ptr(90.0)}}}, SortCriterion{}, []string{"f-3", "f-2"}},
	}
	for _, tt := range tests {
		got, next, err := h.Query(ctx, Query{AccountID: acct, Filters: tt.f, Sort: tt.sort})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if g := ids(got); !reflect.DeepEqual(g, tt.want) || next != "" {
			t.Errorf("%s: got %v (next %q), want %v", tt.name, g, next, tt.want)
		}
	}

	// Paging: two at a time, with a filter, the token bound to the query.
	var all []string
	q := Query{AccountID: acct, Filters: Filters{Title: s(NotEquals, "Other")}, MaxResults: 2}
	for range 5 {
		page, next, err := h.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ids(page)...)
		if next == "" {
			break
		}
		q.NextToken = next
	}
	if !reflect.DeepEqual(all, []string{"f-3", "f-2", "f-1", "f-0"}) {
		t.Fatalf("pages = %v", all)
	}
	_, next, _ := h.Query(ctx, Query{AccountID: acct, MaxResults: 1})
	for _, bad := range []Query{
		{AccountID: acct, MaxResults: 101}, {AccountID: acct, MaxResults: -1},
		{AccountID: acct, Sort: SortCriterion{Field: "Title"}}, {AccountID: acct, Sort: SortCriterion{SortOrder: "up"}},
		{AccountID: acct, NextToken: "garbage"}, {AccountID: other, NextToken: next},
	} {
		if _, _, err := h.Query(ctx, bad); !IsInvalid(err) {
			t.Errorf("Query(%+v) = %v, want invalid", bad, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestDecodeFilters(t *testing.T) {
	tests := []struct {
		raw string
		ok  bool
	}{
		{`{}`, true},
		{`{"Title":[{"Value":"x","Comparison":"PREFIX"}],"GeneratorId":[{"Value":"g","Comparison":"EQUALS"}]}`, true},
		{`{"Title":[{"Value":"x","Comparison":"PREFIX"},{"Value":"y","Comparison":"NOT_EQUALS"}]}`, true},
		{`{"MalwareName":[{"Value":"x","Comparison":"EQUALS"}]}`, false},
		{`{"Title":[{"Value":"x","Comparison":"LIKE"}]}`, false},
		{`{"Title":[{"Value":"x","Comparison":"CONTAINS_WORD"}]}`, false},
		{`{"Title":[{"Value":"","Comparison":"EQUALS"}]}`, false},
		{`{"Title":[{"Value":"x","Comparison":"CONTAINS"},{"Value":"y","Comparison":"EQUALS"}]}`, false},
		{`{"Title":[{"Value":"x","Comparison":"NOT_CONTAINS"},{"Value":"y","Comparison":"NOT_EQUALS"}]}`, false},
		{`{"Title":[{"Value":"x","Comparison":"EQUALS"},{"Value":"y","Comparison":"NOT_EQUALS"}]}`, false},
		{`{"CreatedAt":[{"Start":"yesterday","End":"today"}]}`, false},
		{`{"CreatedAt":[{"DateRange":{"Value":1,"Unit":"WEEKS"}}]}`, false},
		{`{"CreatedAt":[{}]}`, false},
		{`{"ProductFields":[{"Key":"k","Value":"v","Comparison":"PREFIX"}]}`, false},
		{`{"Title":{"Value":"x"}}`, false},
		{`[]`, false},
	}
	for _, tt := range tests {
		_, err := DecodeFilters(json.RawMessage(tt.raw))
		if tt.ok != (err == nil) {
			t.Errorf("DecodeFilters(%s) = %v, want ok=%v", tt.raw, err, tt.ok)
		}
	}
}

func FuzzDecodeFilters(f *testing.F) {
	f.Add(`{"Title":[{"Value":"x","Comparison":"PREFIX"}]}`)
	f.Add(`{"CreatedAt":[{"DateRange":{"Value":1,"Unit":"DAYS"}}],"SeverityNormalized":[{"Gte":1}]}`)
	f.Add(`{"ResourceTags":[{"Key":"k","Value":"v","Comparison":"EQUALS"}]}`)
	g := sample("f")
	f.Fuzz(func(t *testing.T, raw string) {
		fs, err := DecodeFilters(json.RawMessage(raw))
		if err != nil {
			return
		}
		fs.Match(&g, t0) // must not panic
	})
}

func FuzzFindingJSON(f *testing.F) {
	b, _ := json.Marshal(sample("f"))
	f.Add(string(b))
	f.Add(`{"Severity":{"Normalized":5},"X":{"y":1}}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var g Finding
		if json.Unmarshal([]byte(raw), &g) != nil {
			return
		}
		if err := validate(&g); err != nil {
			return
		}
		out, err := json.Marshal(g)
		if err != nil {
			t.Fatalf("valid finding does not marshal: %v", err)
		}
		var back Finding
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// TestImportProviderFields: the AWS CLI's own batch-import-findings
// example gives Severity and Types only in FindingProviderFields.
func TestImportProviderFields(t *testing.T) {
	h, _ := newHub(t)
	raw := `{"AwsAccountId": "123456789012", "CreatedAt": "2020-05-27T17:05:54.832Z",
		"Description": "Vulnerability in a CloudTrail trail",
		"FindingProviderFields": {"Severity": {"Label": "LOW", "Original": "10"},
			"Types": ["Software and Configuration Checks/Vulnerabilities/CVE"]},
		"GeneratorId": "TestGeneratorId", "Id": "Id1",
		"ProductArn": "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default",
		"Resources": [{"Id": "arn:aws:cloudtrail:us-west-1:123456789012:trail/TrailName", "Partition": "aws",
			"Region": "us-west-1", "Type": "AwsCloudTrailTrail"}],
		"SchemaVersion": "2018-10-08", "Title": "CloudTrail trail vulnerability", "UpdatedAt": "2020-06-02T16:05:54.832Z"}`
	var f Finding
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		t.Fatal(err)
	}
	got, _, err := h.Import(t.Context(), f)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if got.Severity.Label != SeverityLow || got.Severity.Normalized != 1 || got.Severity.Original != "10" ||
		len(got.Types) != 1 || got.FindingProviderFields.Severity.Label != SeverityLow {
		t.Fatalf("top level from provider fields: %+v %v", got.Severity, got.Types)
	}
	// A finding with only the top level gets FindingProviderFields.
	got, _, err = h.Import(t.Context(), sample("top"))
	if err != nil || got.FindingProviderFields == nil || got.FindingProviderFields.Severity.Label != SeverityHigh ||
		len(got.FindingProviderFields.Types) != 1 {
		t.Fatalf("provider fields from top level: %v %+v", err, got.FindingProviderFields)
	}
	bad := sample("bad")
	bad.FindingProviderFields = &ProviderFields{Severity: &ProviderSeverity{Label: "HUGE"}}
	if _, _, err := h.Import(t.Context(), bad); !IsInvalid(err) {
		t.Fatalf("bad provider label: %v", err)
	}
}
