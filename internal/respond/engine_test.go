package respond

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwark-security/bulwark/internal/audit"
	"github.com/bulwark-security/bulwark/internal/findings"
	"github.com/bulwark-security/bulwark/internal/store"
	"github.com/bulwark-security/bulwark/internal/store/sqlite"
)

const acct = "123456789012"

type publisher struct {
	mu    sync.Mutex
	calls []string
	errs  []error
}

func (p *publisher) PublishFinding(_ context.Context, topicARN, subject, message string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, topicARN+" "+subject+" "+message)
	if len(p.errs) > 0 {
		err := p.errs[0]
		p.errs = p.errs[1:]
		return err
	}
	return nil
}

type env struct {
	eng       *Engine
	st        *sqlite.Store
	audit     *audit.Memory
	pub       *publisher
	forgotten []string
	now       time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, ":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateAccount(ctx, store.Account{ID: acct, CreatedAt: now}))
	must(st.CreateAccount(ctx, store.Account{ID: "999999999999", CreatedAt: now}))
	must(st.CreateUser(ctx, store.User{AccountID: acct, UserName: "alice", UserID: "AIDAALICE0000000000000", Path: "/", ARN: "arn:aws:iam::" + acct + ":user/alice", CreatedAt: now}))
	must(st.CreateRole(ctx, store.Role{AccountID: acct, RoleName: "app", RoleID: "AROAAPP00000000000000", Path: "/svc/", ARN: "arn:aws:iam::" + acct + ":role/svc/app",
		CreatedAt: now, AssumeRolePolicyDocument: `{"Version":"2012-10-17","Statement":[]}`, MaxSessionDuration: 3600}))
	for _, k := range []store.AccessKey{
		{AccessKeyID: "AKIAALICE00000000001", AccountID: acct, PrincipalType: store.PrincipalUser, PrincipalARN: "arn:aws:iam::" + acct + ":user/alice", PrincipalID: "AIDAALICE0000000000000", UserName: "alice", Status: store.KeyActive, SealedSecret: []byte("x"), CreatedAt: now},
		{AccessKeyID: "AKIAROOT000000000001", AccountID: acct, PrincipalType: store.PrincipalRoot, PrincipalARN: "arn:aws:iam::" + acct + ":root", PrincipalID: acct, Status: store.KeyActive, SealedSecret: []byte("x"), CreatedAt: now},
		{AccessKeyID: "AKIAOTHER0000000001", AccountID: "999999999999", PrincipalType: store.PrincipalRoot, PrincipalARN: "arn:aws:iam::999999999999:root", PrincipalID: "999999999999", Status: store.KeyActive, SealedSecret: []byte("x"), CreatedAt: now},
	} {
		must(st.CreateAccessKey(ctx, k))
	}
	e := &env{st: st, audit: &audit.Memory{}, pub: &publisher{}, now: now}
	e.eng, err = New(Config{Store: st, Keys: st, IAM: st, Forget: func(id string) { e.forgotten = append(e.forgotten, id) },
		Publisher: e.pub, Audit: e.audit, Region: "us-east-1", Now: func() time.Time { return e.now }, RetryBase: time.Second})
	must(err)
	return e
}

func (e *env) rule(t *testing.T, name, body string) {
	t.Helper()
	if _, err := ParseRule([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := e.st.PutResponseRule(context.Background(), store.ResponseRule{AccountID: acct, Name: name, Body: body, Enabled: true, CreatedAt: e.now, UpdatedAt: e.now}); err != nil {
		t.Fatal(err)
	}
	e.eng.RulesChanged()
}

func finding(t *testing.T, id string, resources ...findings.Resource) *findings.Finding {
	t.Helper()
	var f findings.Finding
	if err := json.Unmarshal([]byte(sampleFinding), &f); err != nil {
		t.Fatal(err)
	}
	f.ID = id
	if resources != nil {
		f.Resources = resources
	}
	return &f
}

func (e *env) executions(t *testing.T) map[string]store.ResponseExecution {
	t.Helper()
	es, err := e.st.ListResponseExecutions(context.Background(), acct, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.ResponseExecution{}
	for _, x := range es {
		out[x.RuleName+"/"+x.FindingID[strings.LastIndexByte(x.FindingID, '|')+1:]+"/"+string(rune('0'+x.ActionIndex))] = x
	}
	return out
}

func (e *env) handle(t *testing.T, f *findings.Finding) int {
	t.Helper()
	n, err := e.eng.HandleFinding(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.eng.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	return n
}

const topicARN = "arn:aws:sns:us-east-1:" + acct + ":alerts"

func TestDisableAccessKeyAndNotify(t *testing.T) {
	e := newEnv(t)
	e.rule(t, "brute", `{"Pattern": {"GeneratorId": ["bulwark/signature-failures"], "Resources": {"Type": ["AwsIamAccessKey"]}},
		"Actions": [{"Type": "DisableAccessKey"}, {"Type": "NotifyTopic", "TopicArn": "`+topicARN+`"}]}`)
	e.rule(t, "unrelated", `{"Pattern": {"GeneratorId": ["other"]}, "Actions": [{"Type": "DisableAccessKey"}]}`)
	f := finding(t, "f-1", findings.Resource{Type: "AwsIamAccessKey", ID: "AKIAALICE00000000001"})
	if n := e.handle(t, f); n != 2 {
		t.Fatalf("enqueued %d actions, want 2", n)
	}
	k, _ := e.st.GetAccessKey(context.Background(), "AKIAALICE00000000001")
	if k.Status != store.KeyInactive || len(e.forgotten) != 1 || e.forgotten[0] != k.AccessKeyID {
		t.Fatalf("key %s, forgotten %v", k.Status, e.forgotten)
	}
	if len(e.pub.calls) != 1 || !strings.HasPrefix(e.pub.calls[0], topicARN+" Bulwark finding: HIGH t {") {
		t.Fatalf("published %v", e.pub.calls)
	}
	ex := e.executions(t)
	if ex["brute/f-1/0"].Status != store.ExecSucceeded || ex["brute/f-1/1"].Status != store.ExecSucceeded || len(ex) != 2 {
		t.Fatalf("executions = %+v", ex)
	}
	evs := e.audit.Events()
	if len(evs) != 2 || evs[0].EventName != "UpdateAccessKey" || evs[0].EventSource != "iam.amazonaws.com" ||
		evs[0].UserIdentity.Type != "AWSService" || evs[0].ErrorCode != "" || !strings.Contains(string(evs[0].RequestParameters), `"status":"Inactive"`) ||
		evs[1].EventName != "Publish" {
		t.Fatalf("audit events = %+v", evs)
	}
	// Once per finding: the same finding again (an update) does nothing.
	if n := e.handle(t, f); n != 0 || len(e.pub.calls) != 1 {
		t.Fatalf("second handling enqueued %d, published %d", n, len(e.pub.calls))
	}
}

func TestRevokeAndQuarantine(t *testing.T) {
	e := newEnv(t)
	e.rule(t, "contain", `{"Pattern": {"Severity": {"Label": ["HIGH"]}},
		"Actions": [{"Type": "RevokeRoleSessions"}, {"Type": "QuarantinePrincipal"}]}`)
	f := finding(t, "f-2", findings.Resource{Type: "AwsIamRole", ID: "arn:aws:iam::" + acct + ":role/svc/app"},
		findings.Resource{Type: "AwsIamUser", ID: "arn:aws:iam::" + acct + ":user/alice"})
	e.handle(t, f)
	ctx := context.Background()
	p, err := e.st.GetInlinePolicy(ctx, acct, store.EntityRole, "app", RevokeSessionsPolicyName)
	if err != nil {
		t.Fatal(err)
	}
	cut := e.now.Truncate(time.Second).Add(time.Second).Format(time.RFC3339)
	if !strings.Contains(p.Document, `"DateLessThan":{"aws:TokenIssueTime":"`+cut+`"}`) || !strings.Contains(p.Document, `"Effect":"Deny"`) {
		t.Fatalf("revoke policy = %s", p.Document)
	}
	for _, ent := range []struct {
		kind store.EntityKind
		name string
	}{{store.EntityRole, "app"}, {store.EntityUser, "alice"}} {
		q, err := e.st.GetInlinePolicy(ctx, acct, ent.kind, ent.name, DefaultQuarantinePolicyName)
		if err != nil || !strings.Contains(q.Document, `"Action":"*"`) {
			t.Fatalf("quarantine of %s %s: %v %s", ent.kind, ent.name, err, q.Document)
		}
	}
	names := map[string]int{}
	for _, ev := range e.audit.Events() {
		names[ev.EventName]++
	}
	if names["PutRolePolicy"] != 2 || names["PutUserPolicy"] != 1 {
		t.Fatalf("audit events %v", names)
	}
}

// TestRefusals: actions never reach outside the finding's account, never
// disable the root's key unless told, and fail (without retrying) when the
// finding names nothing they apply to.
func TestRefusals(t *testing.T) {
	e := newEnv(t)
	e.rule(t, "keys", `{"Pattern": {"GeneratorId": ["bulwark/signature-failures"]}, "Actions": [{"Type": "DisableAccessKey"}]}`)
	e.rule(t, "other-topic", `{"Pattern": {"GeneratorId": ["bulwark/signature-failures"]}, "Actions": [{"Type": "NotifyTopic", "TopicArn": "arn:aws:sns:us-east-1:999999999999:t"}]}`)
	e.rule(t, "quarantine", `{"Pattern": {"GeneratorId": ["bulwark/signature-failures"]}, "Actions": [{"Type": "QuarantinePrincipal"}]}`)
	cases := []struct {
		id  string
		res []findings.Resource
	}{
		{"root", []findings.Resource{{Type: "AwsIamAccessKey", ID: "AKIAROOT000000000001"}}},
		{"foreign", []findings.Resource{{Type: "AwsIamAccessKey", ID: "AKIAOTHER0000000001"}, {Type: "AwsIamUser", ID: "arn:aws:iam::999999999999:user/bob"}}},
		{"missing", []findings.Resource{{Type: "AwsIamAccessKey", ID: "AKIANOPE0000000000001"}, {Type: "AwsIamUser", ID: "arn:aws:iam::" + acct + ":user/nobody"}}},
		{"nothing", []findings.Resource{{Type: "Other", ID: "ip/127.0.0.1"}}},
	}
	for _, c := range cases {
		e.handle(t, finding(t, c.id, c.res...))
	}
	ex := e.executions(t)
	if len(ex) != 3*len(cases) {
		t.Fatalf("%d executions, want %d", len(ex), 3*len(cases))
	}
	for key, x := range ex {
		if x.Status != store.ExecFailed || x.Attempts != 1 || x.LastError == "" {
			t.Errorf("%s: %s after %d attempts (%s)", key, x.Status, x.Attempts, x.LastError)
		}
	}
	for _, id := range []string{"AKIAROOT000000000001", "AKIAOTHER0000000001"} {
		if k, _ := e.st.GetAccessKey(context.Background(), id); k.Status != store.KeyActive {
			t.Errorf("%s was deactivated", id)
		}
	}
	if len(e.pub.calls) != 0 {
		t.Errorf("published to another account's topic: %v", e.pub.calls)
	}
	// A finding of another account is matched against that account's
	// rules only (here: none).
	f := finding(t, "x", findings.Resource{Type: "AwsIamAccessKey", ID: "AKIAOTHER0000000001"})
	f.AwsAccountID = "999999999999"
	if n := e.handle(t, f); n != 0 {
		t.Errorf("another account's finding enqueued %d actions", n)
	}
}

func TestRetriesAndAuditFailure(t *testing.T) {
	e := newEnv(t)
	e.rule(t, "notify", `{"Pattern": {"GeneratorId": ["bulwark/signature-failures"]}, "Actions": [{"Type": "NotifyTopic", "TopicArn": "`+topicARN+`"}]}`)
	e.pub.errs = []error{errors.New("connection refused"), errors.New("connection refused")}
	e.handle(t, finding(t, "f"))
	x := e.executions(t)["notify/f/0"]
	if x.Status != store.ExecPending || x.Attempts != 1 || !strings.Contains(x.LastError, "connection refused") {
		t.Fatalf("after a transient failure: %+v", x)
	}
	e.now = e.now.Add(time.Minute)
	_ = e.eng.RunDue(context.Background())
	e.now = e.now.Add(time.Minute)
	_ = e.eng.RunDue(context.Background())
	if x := e.executions(t)["notify/f/0"]; x.Status != store.ExecSucceeded || x.Attempts != 3 {
		t.Fatalf("after retries: %+v", x)
	}
	// Permanent publisher errors stop at once.
	e.pub.errs = []error{Permanent(errors.New("NotFound: Topic does not exist"))}
	e.handle(t, finding(t, "g"))
	if x := e.executions(t)["notify/g/0"]; x.Status != store.ExecFailed || x.Attempts != 1 {
		t.Fatalf("permanent failure: %+v", x)
	}
	// Attempts are bounded.
	e.pub.errs = []error{errors.New("a"), errors.New("b"), errors.New("c"), errors.New("d"), errors.New("e")}
	e.handle(t, finding(t, "h"))
	for range 6 {
		e.now = e.now.Add(10 * time.Minute)
		_ = e.eng.RunDue(context.Background())
	}
	if x := e.executions(t)["notify/h/0"]; x.Status != store.ExecFailed || x.Attempts != 5 {
		t.Fatalf("bounded attempts: %+v", x)
	}
}

// TestUnauditedActionRetries: an action whose audit record cannot be
// written is not done; it is retried until the record is written.
func TestUnauditedActionRetries(t *testing.T) {
	e := newEnv(t)
	failing := &flakySink{fail: 1, next: e.audit}
	e.eng.cfg.Audit = failing
	e.rule(t, "keys", `{"Pattern": {"GeneratorId": ["bulwark/signature-failures"]}, "Actions": [{"Type": "DisableAccessKey"}]}`)
	e.handle(t, finding(t, "f", findings.Resource{Type: "AwsIamAccessKey", ID: "AKIAALICE00000000001"}))
	if x := e.executions(t)["keys/f/0"]; x.Status != store.ExecPending {
		t.Fatalf("unaudited action = %+v", x)
	}
	e.now = e.now.Add(time.Minute)
	_ = e.eng.RunDue(context.Background())
	if x := e.executions(t)["keys/f/0"]; x.Status != store.ExecSucceeded || len(e.audit.Events()) != 1 {
		t.Fatalf("after the audit recovered: %+v, %d events", x, len(e.audit.Events()))
	}
}

type flakySink struct {
	fail int
	next audit.Sink
}

func (s *flakySink) Record(ctx context.Context, ev *audit.Event) error {
	if s.fail > 0 {
		s.fail--
		return errors.New("trail unavailable")
	}
	return s.next.Record(ctx, ev)
}

func TestObserveDropsWhenFull(t *testing.T) {
	e := newEnv(t)
	e.eng.queue = make(chan findings.Change, 1)
	e.eng.Observe(findings.Change{})
	e.eng.Observe(findings.Change{})
	if e.eng.Dropped() != 1 {
		t.Fatalf("dropped %d", e.eng.Dropped())
	}
}

func TestDisabledRule(t *testing.T) {
	e := newEnv(t)
	body := `{"Pattern": {"GeneratorId": ["bulwark/signature-failures"]}, "Actions": [{"Type": "DisableAccessKey"}]}`
	if err := e.st.PutResponseRule(context.Background(), store.ResponseRule{AccountID: acct, Name: "off", Body: body, Enabled: false, CreatedAt: e.now, UpdatedAt: e.now}); err != nil {
		t.Fatal(err)
	}
	e.eng.RulesChanged()
	if n := e.handle(t, finding(t, "f", findings.Resource{Type: "AwsIamAccessKey", ID: "AKIAALICE00000000001"})); n != 0 {
		t.Fatalf("a disabled rule enqueued %d", n)
	}
}

// TestRunObserves: a finding change handed to Observe (as the findings hub
// does) is matched and acted on by the background loop.
func TestRunObserves(t *testing.T) {
	e := newEnv(t)
	e.eng.cfg.Poll = 10 * time.Millisecond
	e.eng.cfg.Now = time.Now
	e.rule(t, "keys", `{"Pattern": {"GeneratorId": ["bulwark/signature-failures"]}, "Actions": [{"Type": "DisableAccessKey"}]}`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.eng.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	e.eng.Observe(findings.Change{Kind: findings.Created, Finding: *finding(t, "f", findings.Resource{Type: "AwsIamAccessKey", ID: "AKIAALICE00000000001"})})
	deadline := time.Now().Add(10 * time.Second)
	for {
		k, err := e.st.GetAccessKey(context.Background(), "AKIAALICE00000000001")
		if err == nil && k.Status == store.KeyInactive {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the key was not deactivated")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRecurrence: a finding updated while open is not acted on again; one
// that comes back after it was resolved is.
func TestRecurrence(t *testing.T) {
	e := newEnv(t)
	e.rule(t, "notify", `{"Pattern": {"GeneratorId": ["bulwark/signature-failures"]}, "Actions": [{"Type": "NotifyTopic", "TopicArn": "`+topicARN+`"}]}`)
	f := finding(t, "f")
	f.Workflow.Status = findings.WorkflowNew
	run := func(c findings.Change) int {
		t.Helper()
		n, err := e.eng.HandleChange(context.Background(), &c)
		if err != nil {
			t.Fatal(err)
		}
		_ = e.eng.RunDue(context.Background())
		return n
	}
	if n := run(findings.Change{Kind: findings.Created, Finding: *f}); n != 1 {
		t.Fatalf("created: %d", n)
	}
	prev := *f
	f.UpdatedAt = f.UpdatedAt.Add(time.Minute)
	if n := run(findings.Change{Kind: findings.Updated, Finding: *f, Previous: &prev}); n != 0 {
		t.Fatalf("an update of an open finding enqueued %d", n)
	}
	resolved := *f
	resolved.Workflow.Status = findings.WorkflowResolved
	f.UpdatedAt = f.UpdatedAt.Add(time.Hour)
	if n := run(findings.Change{Kind: findings.Updated, Finding: *f, Previous: &resolved}); n != 1 {
		t.Fatalf("a recurrence enqueued %d", n)
	}
	if len(e.pub.calls) != 2 {
		t.Fatalf("published %d times, want 2", len(e.pub.calls))
	}
}

// TestSweepActsOnMissedFindings: a NEW finding in the store that the live
// path never matched (a full queue, a crash, another server) is acted on
// by the sweep, once; findings that are not NEW and active, or that
// changed before the rule existed, are not.
func TestSweepActsOnMissedFindings(t *testing.T) {
	e := newEnv(t)
	e.eng.cfg.Findings = e.st
	e.rule(t, "keys", `{"Pattern": {"GeneratorId": ["bulwark/signature-failures"]}, "Actions": [{"Type": "DisableAccessKey"}]}`)
	ctx := context.Background()
	put := func(id, status string, updated time.Time, key string) {
		t.Helper()
		f := finding(t, id, findings.Resource{Type: "AwsIamAccessKey", ID: key})
		f.AwsAccountID, f.Workflow.Status = acct, status
		doc, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.st.CreateFinding(ctx, store.FindingRecord{ProductARN: f.ProductARN, ID: f.ID, AccountID: acct,
			GeneratorID: f.GeneratorID, Severity: 70, WorkflowStatus: status, RecordState: findings.RecordActive,
			Title: f.Title, CreatedAt: updated, UpdatedAt: updated, Doc: doc}); err != nil {
			t.Fatal(err)
		}
	}
	put("missed", findings.WorkflowNew, e.now.Add(time.Second), "AKIAALICE00000000001")
	put("resolved", findings.WorkflowResolved, e.now.Add(time.Second), "AKIAROOT000000000001")
	put("before-the-rule", findings.WorkflowNew, e.now.Add(-time.Hour), "AKIAROOT000000000001")

	n, err := e.eng.Sweep(ctx, time.Time{})
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 action (the missed finding's)", n, err)
	}
	if err := e.eng.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	if k, _ := e.st.GetAccessKey(ctx, "AKIAALICE00000000001"); k.Status != store.KeyInactive {
		t.Fatalf("the missed finding's key is %s", k.Status)
	}
	if k, _ := e.st.GetAccessKey(ctx, "AKIAROOT000000000001"); k.Status != store.KeyActive {
		t.Fatalf("a resolved or older finding was acted on: root key %s", k.Status)
	}
	// Sweeping again, or a finding the live path already matched, acts
	// no more.
	if n, err := e.eng.Sweep(ctx, time.Time{}); err != nil || n != 0 {
		t.Fatalf("second sweep = %d, %v", n, err)
	}
	// A sweep from a later time does not look at older findings.
	if n, err := e.eng.Sweep(ctx, e.now.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("sweep since later = %d, %v", n, err)
	}
}
