package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
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

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

var (
	bob = audit.UserIdentity{Type: "IAMUser", PrincipalID: "AIDABOB", ARN: "arn:aws:iam::" + acct + ":user/bob",
		AccountID: acct, AccessKeyID: "AKIABOBBOBBOBBOBBOB1", UserName: "bob"}
	root = audit.UserIdentity{Type: "Root", PrincipalID: acct, ARN: "arn:aws:iam::" + acct + ":root",
		AccountID: acct, AccessKeyID: "AKIAROOTROOTROOTROO1"}
	role = audit.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::" + acct + ":assumed-role/app/s1",
		AccountID: acct, AccessKeyID: "ASIAAPPAPPAPPAPPAPP1"}
)

// ev builds an event; i spaces events one second apart.
func ev(i int, who audit.UserIdentity, source, name, code, ip string, params any) *audit.Event {
	e := &audit.Event{EventID: fmt.Sprintf("ev-%d", i), EventTime: t0.Add(time.Duration(i) * time.Second),
		EventSource: source, EventName: name, ErrorCode: code, SourceIPAddress: ip, UserIdentity: who}
	if params != nil {
		b, _ := json.Marshal(params)
		e.RequestParameters = b
	}
	return e
}

// badSig is a request whose signature failed: only the claimed key.
func badSig(i int, key, ip, code string) *audit.Event {
	return ev(i, audit.UserIdentity{AccessKeyID: key}, "sts.amazonaws.com", "", code, ip, nil)
}

// counts runs events through a detector and returns, per event, the
// total Count of its signals (0 for none).
func counts(d Detector, evs []*audit.Event) ([]int, []Signal) {
	var out []int
	var all []Signal
	for _, e := range evs {
		n := 0
		for _, s := range d.Inspect(e) {
			n += s.Count
			all = append(all, s)
		}
		out = append(out, n)
	}
	return out, all
}

func TestWindowedDetectors(t *testing.T) {
	th := Thresholds{SignatureFailures: 3, SignatureWindow: 10 * time.Second, AccessDenied: 3,
		AccessDeniedWindow: 10 * time.Second, SecretReads: 3, SecretReadsWindow: 10 * time.Second, Subjects: 100}
	secret := func(i int, who audit.UserIdentity, name, code string, params any) *audit.Event {
		return ev(i, who, "secretsmanager.amazonaws.com", name, code, "10.0.0.1", params)
	}
	tests := []struct {
		name string
		d    Detector
		evs  []*audit.Event
		want []int
	}{
		{"signature failures from one key and one address", NewSignatureFailures(th), []*audit.Event{
			badSig(0, "AKIAX", "10.0.0.1", "SignatureDoesNotMatch"), badSig(1, "AKIAX", "10.0.0.1", "SignatureDoesNotMatch"),
			badSig(2, "AKIAX", "10.0.0.1", "IncompleteSignature"), badSig(3, "AKIAX", "10.0.0.1", "InvalidClientTokenId"),
		}, []int{0, 0, 3 + 3, 1 + 1}},
		{"signature failures spread over keys hit the address", NewSignatureFailures(th), []*audit.Event{
			badSig(0, "AKIA1", "10.0.0.9", "InvalidClientTokenId"), badSig(1, "AKIA2", "10.0.0.9", "InvalidClientTokenId"),
			badSig(2, "AKIA3", "10.0.0.9", "InvalidClientTokenId"),
		}, []int{0, 0, 3}},
		{"signature failures outside the window", NewSignatureFailures(th), []*audit.Event{
			badSig(0, "AKIAX", "", "SignatureDoesNotMatch"), badSig(6, "AKIAX", "", "SignatureDoesNotMatch"),
			badSig(11, "AKIAX", "", "SignatureDoesNotMatch"), badSig(12, "AKIAX", "", "SignatureDoesNotMatch"),
		}, []int{0, 0, 0, 3}},
		{"other errors are not signature failures", NewSignatureFailures(th), []*audit.Event{
			badSig(0, "AKIAX", "", "AccessDenied"), badSig(1, "AKIAX", "", "ExpiredToken"), badSig(2, "AKIAX", "", "ValidationError"),
		}, []int{0, 0, 0}},
		{"a burst that ends and starts again", NewSignatureFailures(Thresholds{SignatureFailures: 2, SignatureWindow: time.Second}), []*audit.Event{
			badSig(0, "AKIAX", "", "SignatureDoesNotMatch"), badSig(1, "AKIAX", "", "SignatureDoesNotMatch"),
			badSig(5, "AKIAX", "", "SignatureDoesNotMatch"), badSig(6, "AKIAX", "", "SignatureDoesNotMatch"),
		}, []int{0, 2, 0, 2}},
		{"access denied burst", NewAccessDeniedBurst(th), []*audit.Event{
			ev(0, bob, "iam.amazonaws.com", "ListUsers", "AccessDenied", "", nil),
			ev(1, bob, "secretsmanager.amazonaws.com", "GetSecretValue", "AccessDeniedException", "", nil),
			ev(2, root, "iam.amazonaws.com", "ListUsers", "AccessDenied", "", nil),
			ev(3, bob, "iam.amazonaws.com", "ListRoles", "AccessDenied", "", nil),
			ev(4, bob, "iam.amazonaws.com", "ListRoles", "", "", nil),
			ev(5, bob, "iam.amazonaws.com", "ListRoles", "AccessDenied", "", nil),
		}, []int{0, 0, 0, 3, 0, 1}},
		{"denials without a principal are signature problems, not denials", NewAccessDeniedBurst(th), []*audit.Event{
			badSig(0, "AKIAX", "", "AccessDenied"), badSig(1, "AKIAX", "", "AccessDenied"), badSig(2, "AKIAX", "", "AccessDenied"),
		}, []int{0, 0, 0}},
		{"secret reads", NewSecretReads(th), []*audit.Event{
			secret(0, role, "GetSecretValue", "", nil), secret(1, role, "DescribeSecret", "", nil),
			secret(2, role, "GetSecretValue", "ResourceNotFoundException", nil),
			secret(3, role, "GetSecretValue", "", nil), secret(4, bob, "GetSecretValue", "", nil),
			secret(5, role, "GetSecretValue", "", nil),
		}, []int{0, 0, 0, 0, 0, 3}},
		{"batch secret reads count each secret", NewSecretReads(th), []*audit.Event{
			secret(0, role, "BatchGetSecretValue", "", map[string]any{"secretIdList": []string{"a", "b", "c", "d"}}),
		}, []int{3 + 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, sigs := counts(tt.d, tt.evs)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("counts %v, want %v", got, tt.want)
			}
			for _, s := range sigs {
				checkSignal(t, s)
			}
		})
	}
}

// checkSignal: every signal makes a valid finding.
func checkSignal(t *testing.T, s Signal) {
	t.Helper()
	if s.Subject == "" || s.Title == "" || s.Description == "" || len(s.Types) == 0 || len(s.Resources) == 0 ||
		s.Count < 1 || len(s.EventIDs) == 0 || s.Time.IsZero() {
		t.Fatalf("incomplete signal %+v", s)
	}
	if _, ok := findings.NormalizedFor(s.Severity); !ok {
		t.Fatalf("severity %q", s.Severity)
	}
	for _, ty := range s.Types {
		if err := findings.CheckType(ty); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEventDetectors(t *testing.T) {
	admin := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	adminCond := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*:*","Resource":["*"],"Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`
	narrow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/*"}]}`
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`
	notRes := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","NotResource":"arn:aws:s3:::b"}]}`
	docs := fakeDocs{
		"arn:aws:iam::123456789012:policy/all v1":    admin,
		"arn:aws:iam::123456789012:policy/narrow v1": narrow,
		"arn:aws:iam::123456789012:policy/narrow v2": admin,
	}
	iam := func(who audit.UserIdentity, name, code string, params any) *audit.Event {
		return ev(0, who, "iam.amazonaws.com", name, code, "10.0.0.1", params)
	}
	tests := []struct {
		name     string
		d        Detector
		e        *audit.Event
		want     bool
		severity string
	}{
		{"root use", &RootCredentialUse{}, ev(0, root, "sts.amazonaws.com", "GetCallerIdentity", "", "10.0.0.1", nil), true, findings.SeverityHigh},
		{"root use failing still counts", &RootCredentialUse{}, ev(0, root, "iam.amazonaws.com", "GetUser", "NoSuchEntity", "10.0.0.1", nil), true, findings.SeverityHigh},
		{"root use in dev mode", &RootCredentialUse{Dev: true}, ev(0, root, "sts.amazonaws.com", "GetCallerIdentity", "", "", nil), true, findings.SeverityInformational},
		{"user is not root", &RootCredentialUse{}, ev(0, bob, "sts.amazonaws.com", "GetCallerIdentity", "", "", nil), false, ""},
		{"bad signature claiming the root key", &RootCredentialUse{}, badSig(0, root.AccessKeyID, "", "SignatureDoesNotMatch"), false, ""},
		{"inline admin policy", PolicyGrantsAll{}, iam(bob, "PutUserPolicy", "", map[string]string{"userName": "eve", "policyName": "p", "policyDocument": admin}), true, findings.SeverityHigh},
		{"role policy with a condition", PolicyGrantsAll{}, iam(bob, "PutRolePolicy", "", map[string]string{"roleName": "r", "policyName": "p", "policyDocument": adminCond}), true, findings.SeverityHigh},
		{"managed admin policy", PolicyGrantsAll{}, iam(bob, "CreatePolicy", "", map[string]string{"policyName": "all", "policyDocument": admin}), true, findings.SeverityHigh},
		{"admin policy version", PolicyGrantsAll{}, iam(bob, "CreatePolicyVersion", "", map[string]string{"policyArn": "arn:aws:iam::123456789012:policy/p", "policyDocument": admin}), true, findings.SeverityHigh},
		{"attach AdministratorAccess", PolicyGrantsAll{}, iam(bob, "AttachRolePolicy", "", map[string]string{"roleName": "r", "policyArn": adminPolicyARN}), true, findings.SeverityHigh},
		{"attach another policy", PolicyGrantsAll{}, iam(bob, "AttachRolePolicy", "", map[string]string{"roleName": "r", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}), false, ""},
		{"attach a customer admin policy", PolicyGrantsAll{Documents: docs}, iam(bob, "AttachUserPolicy", "", map[string]string{"userName": "u", "policyArn": "arn:aws:iam::123456789012:policy/all"}), true, findings.SeverityHigh},
		{"attach a customer narrow policy", PolicyGrantsAll{Documents: docs}, iam(bob, "AttachUserPolicy", "", map[string]string{"userName": "u", "policyArn": "arn:aws:iam::123456789012:policy/narrow"}), false, ""},
		{"attach an unknown policy", PolicyGrantsAll{Documents: docs}, iam(bob, "AttachUserPolicy", "", map[string]string{"userName": "u", "policyArn": "arn:aws:iam::123456789012:policy/gone"}), false, ""},
		{"customer admin policy without documents", PolicyGrantsAll{}, iam(bob, "AttachUserPolicy", "", map[string]string{"userName": "u", "policyArn": "arn:aws:iam::123456789012:policy/all"}), false, ""},
		{"admin version made default", PolicyGrantsAll{Documents: docs}, iam(bob, "SetDefaultPolicyVersion", "", map[string]string{"policyArn": "arn:aws:iam::123456789012:policy/narrow", "versionId": "v2"}), true, findings.SeverityHigh},
		{"narrow version made default", PolicyGrantsAll{Documents: docs}, iam(bob, "SetDefaultPolicyVersion", "", map[string]string{"policyArn": "arn:aws:iam::123456789012:policy/narrow", "versionId": "v1"}), false, ""},
		{"narrow grants", PolicyGrantsAll{}, iam(bob, "PutGroupPolicy", "", map[string]string{"groupName": "g", "policyName": "p", "policyDocument": narrow}), false, ""},
		{"deny all", PolicyGrantsAll{}, iam(bob, "PutUserPolicy", "", map[string]string{"userName": "u", "policyName": "p", "policyDocument": deny}), false, ""},
		{"not resource", PolicyGrantsAll{}, iam(bob, "PutUserPolicy", "", map[string]string{"userName": "u", "policyName": "p", "policyDocument": notRes}), false, ""},
		{"failed change", PolicyGrantsAll{}, iam(bob, "PutUserPolicy", "AccessDenied", map[string]string{"userName": "u", "policyName": "p", "policyDocument": admin}), false, ""},
		{"unparseable document", PolicyGrantsAll{}, iam(bob, "PutUserPolicy", "", map[string]string{"userName": "u", "policyName": "p", "policyDocument": "{"}), false, ""},
		{"no parameters", PolicyGrantsAll{}, iam(bob, "PutUserPolicy", "", nil), false, ""},
		{"entity from the resources", PolicyGrantsAll{}, withResources(iam(bob, "PutUserPolicy", "", map[string]string{"name": "eve", "policyName": "p", "policyDocument": admin}),
			"arn:aws:iam::123456789012:user/team/eve"), true, findings.SeverityHigh},
		{"key for another user", AccessKeyForOtherUser{}, iam(bob, "CreateAccessKey", "", map[string]string{"userName": "alice"}), true, findings.SeverityMedium},
		{"key for another user by a role", AccessKeyForOtherUser{}, iam(role, "CreateAccessKey", "", map[string]string{"userName": "alice"}), true, findings.SeverityMedium},
		{"key for oneself, named", AccessKeyForOtherUser{}, iam(bob, "CreateAccessKey", "", map[string]string{"userName": "Bob"}), false, ""},
		{"key for oneself, implicit", AccessKeyForOtherUser{}, iam(bob, "CreateAccessKey", "", nil), false, ""},
		{"failed key creation", AccessKeyForOtherUser{}, iam(bob, "CreateAccessKey", "AccessDenied", map[string]string{"userName": "alice"}), false, ""},
		{"stop logging", AuditConfigChange{}, ev(0, bob, "cloudtrail.amazonaws.com", "StopLogging", "", "", map[string]string{"name": "main"}), true, findings.SeverityHigh},
		{"delete trail", AuditConfigChange{}, ev(0, bob, "cloudtrail.amazonaws.com", "DeleteTrail", "", "", map[string]string{"name": "main"}), true, findings.SeverityHigh},
		{"disable security hub", AuditConfigChange{}, ev(0, bob, "securityhub.amazonaws.com", "DisableSecurityHub", "", "", nil), true, findings.SeverityHigh},
		{"start logging", AuditConfigChange{}, ev(0, bob, "cloudtrail.amazonaws.com", "StartLogging", "", "", nil), true, findings.SeverityLow},
		{"lookup events", AuditConfigChange{}, ev(0, bob, "cloudtrail.amazonaws.com", "LookupEvents", "", "", nil), false, ""},
		{"denied stop logging", AuditConfigChange{}, ev(0, bob, "cloudtrail.amazonaws.com", "StopLogging", "AccessDenied", "", nil), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sigs := tt.d.Inspect(tt.e)
			if got := len(sigs) > 0; got != tt.want {
				t.Fatalf("signals %+v, want some=%v", sigs, tt.want)
			}
			if tt.want {
				checkSignal(t, sigs[0])
				if sigs[0].Severity != tt.severity {
					t.Fatalf("severity %s, want %s", sigs[0].Severity, tt.severity)
				}
			}
		})
	}
}

func TestNewSourceIP(t *testing.T) {
	d := NewNewSourceIP(Thresholds{NewIPKeys: 2, NewIPPerKey: 2})
	call := func(i int, who audit.UserIdentity, ip, code string) *audit.Event {
		return ev(i, who, "sts.amazonaws.com", "GetCallerIdentity", code, ip, nil)
	}
	carol := bob
	carol.AccessKeyID, carol.ARN = "AKIACAROLCAROLCAROL1", "arn:aws:iam::123456789012:user/carol"
	dave := bob
	dave.AccessKeyID = "AKIADAVEDAVEDAVEDAV1"
	evs := []*audit.Event{
		call(0, bob, "10.0.0.1", ""),                      // baseline
		call(1, bob, "10.0.0.1", ""),                      // known
		call(2, bob, "10.0.0.2", ""),                      // new
		call(3, bob, "10.0.0.2", "AccessDenied"),          // known (denied calls still prove the key)
		call(4, bob, "10.0.0.3", "SignatureDoesNotMatch"), // bad signature: ignored
		call(5, badSigIdentity(bob), "10.0.0.3", ""),      // no verified principal: ignored
		call(6, bob, "10.0.0.3", ""),                      // new; forgets 10.0.0.1 (2 per key)
		call(7, bob, "10.0.0.1", ""),                      // new again
		call(8, carol, "10.0.0.9", ""),                    // carol's baseline
		call(9, dave, "10.0.0.9", ""),                     // dave's baseline; forgets bob (2 keys)
		call(10, bob, "10.0.0.7", ""),                     // bob's new baseline
	}
	got, sigs := counts(d, evs)
	if want := []int{0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("counts %v, want %v", got, want)
	}
	for _, s := range sigs {
		checkSignal(t, s)
	}
	if d.keys.len() > 2 {
		t.Fatalf("%d keys remembered, bound 2", d.keys.len())
	}
}

func badSigIdentity(u audit.UserIdentity) audit.UserIdentity {
	return audit.UserIdentity{AccessKeyID: u.AccessKeyID}
}

func TestRoleARN(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:sts::123456789012:assumed-role/app/s1": "arn:aws:iam::123456789012:role/app",
		"arn:aws:iam::123456789012:user/bob":            "arn:aws:iam::123456789012:user/bob",
	} {
		if got := roleARN(in); got != want {
			t.Errorf("roleARN(%s) = %s, want %s", in, got, want)
		}
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newEngine(t *testing.T, dets ...Detector) (*Engine, *findings.Hub, *clock) {
	t.Helper()
	s, err := sqlite.Open(context.Background(), ":memory:", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	clk := &clock{t: t0}
	hub, err := findings.New(findings.Config{Store: s, Region: "us-east-1", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{Hub: hub, Region: "us-east-1", AccountID: acct, Now: clk.Now, Detectors: dets, QueueSize: 4,
		Logger: slog.New(slog.NewTextHandler(tWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return e, hub, clk
}

// TestEngineDedupesAndCoalesces: one ongoing condition is one finding,
// written at once and then at most once per interval, with counts, times
// and source events; a resolved finding comes back as NEW.
func TestEngineDedupesAndCoalesces(t *testing.T) {
	e, hub, clk := newEngine(t, NewSignatureFailures(Thresholds{SignatureFailures: 3, SignatureWindow: time.Minute}))
	ctx := t.Context()
	var changes []findings.Change
	hub.Subscribe(func(c findings.Change) { changes = append(changes, c) })
	for i := range 3 {
		e.Process(ctx, badSig(i, "AKIAX", "", "SignatureDoesNotMatch"))
	}
	key := findings.Identifier{ID: FindingID("bulwark/signature-failures", acct, "accesskey/AKIAX"), ProductARN: hub.ProductARN()}
	f, err := hub.Get(ctx, key)
	if err != nil {
		t.Fatalf("finding not written at once: %v", err)
	}
	if f.ProductFields["bulwark/EventCount"] != "3" || f.ProductFields["bulwark/SourceEventIds"] != "ev-0,ev-1,ev-2" ||
		f.GeneratorID != "bulwark/signature-failures" || f.AwsAccountID != acct || f.Severity.Label != "MEDIUM" ||
		f.Severity.Normalized != 40 || f.Workflow.Status != "NEW" || f.RecordState != "ACTIVE" ||
		!f.FirstObservedAt.Equal(t0) || !f.LastObservedAt.Equal(t0.Add(2*time.Second)) || f.Resources[0].ID != "AKIAX" {
		t.Fatalf("finding %+v", f)
	}
	// Two more within the interval: coalesced, not written yet.
	e.Process(ctx, badSig(3, "AKIAX", "", "SignatureDoesNotMatch"))
	e.Process(ctx, badSig(4, "AKIAX", "", "SignatureDoesNotMatch"))
	if len(changes) != 1 {
		t.Fatalf("%d writes, want 1 (coalesced)", len(changes))
	}
	clk.add(6 * time.Second)
	e.flush(ctx, false)
	f, _ = hub.Get(ctx, key)
	if len(changes) != 2 || f.ProductFields["bulwark/EventCount"] != "5" || !f.LastObservedAt.Equal(t0.Add(4*time.Second)) ||
		!f.UpdatedAt.Equal(t0.Add(6*time.Second)) || !f.CreatedAt.Equal(t0) {
		t.Fatalf("after flush: %d writes, %+v", len(changes), f)
	}
	// Resolved, then it happens again: NEW, same finding.
	hub.BatchUpdate(ctx, acct, []findings.Identifier{key}, findings.BatchUpdate{Workflow: &findings.Workflow{Status: "RESOLVED"}})
	clk.add(time.Hour)
	for i := 100; i < 103; i++ {
		e.Process(ctx, badSig(i, "AKIAX", "", "SignatureDoesNotMatch"))
	}
	f, _ = hub.Get(ctx, key)
	if f.Workflow.Status != "NEW" || f.ProductFields["bulwark/EventCount"] != "8" {
		t.Fatalf("recurrence: %+v", f)
	}
	fs, _, err := hub.Query(ctx, findings.Query{AccountID: acct})
	if err != nil || len(fs) != 1 {
		t.Fatalf("%d findings, want 1: %v", len(fs), err)
	}
}

// TestObserveNeverBlocks: a full queue drops and counts; Run drains it.
func TestObserveNeverBlocks(t *testing.T) {
	e, hub, _ := newEngine(t, &RootCredentialUse{})
	done := make(chan struct{})
	go func() {
		for i := range 100 {
			e.Observe(ev(i, root, "sts.amazonaws.com", "GetCallerIdentity", "", "", nil))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Observe blocked")
	}
	if st := e.Stats(); st.Dropped != 96 {
		t.Fatalf("dropped %d, want 96 (queue of 4)", st.Dropped)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- e.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for e.Stats().Seen < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	fs, _, _ := hub.Query(context.Background(), findings.Query{AccountID: acct})
	if len(fs) != 1 || fs[0].Title != "Root credential used" || fs[0].ProductFields["bulwark/EventCount"] != "4" {
		t.Fatalf("findings %+v", fs)
	}
}

// TestObserveCopies: the engine keeps its own copy of the parameters.
func TestObserveCopies(t *testing.T) {
	e, _, _ := newEngine(t)
	in := ev(0, bob, "iam.amazonaws.com", "PutUserPolicy", "", "", map[string]string{"userName": "u"})
	e.Observe(in)
	copy(in.RequestParameters, strings.Repeat("x", len(in.RequestParameters)))
	got := <-e.queue
	if !json.Valid(got.RequestParameters) {
		t.Fatalf("queued parameters changed with the caller's buffer: %s", got.RequestParameters)
	}
}

func FuzzDetectors(f *testing.F) {
	f.Add("iam.amazonaws.com", "PutUserPolicy", "", `{"userName":"u","policyDocument":"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}`)
	f.Add("iam.amazonaws.com", "CreateAccessKey", "", `{"userName":"x"}`)
	f.Add("secretsmanager.amazonaws.com", "BatchGetSecretValue", "", `{"secretIdList":["a","b"]}`)
	f.Add("cloudtrail.amazonaws.com", "StopLogging", "", `{"name":5}`)
	dets := All(Options{Thresholds: Thresholds{SignatureFailures: 2, AccessDenied: 2, SecretReads: 2}})
	f.Fuzz(func(t *testing.T, source, name, code, params string) {
		e := ev(0, bob, source, name, code, "10.0.0.1", nil)
		e.RequestParameters = json.RawMessage(params)
		for _, d := range dets {
			for _, s := range d.Inspect(e) {
				checkSignal(t, s)
			}
		}
	})
}

// tWriter sends the engine's log to the test log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// fakeDocs holds managed policy versions by "arn version"; v1 is default.
type fakeDocs map[string]string

func (f fakeDocs) GetPolicy(_ context.Context, arn string) (store.ManagedPolicy, error) {
	if _, ok := f[arn+" v1"]; !ok {
		return store.ManagedPolicy{}, store.ErrNotFound
	}
	return store.ManagedPolicy{ARN: arn, DefaultVersionID: "v1"}, nil
}

func (f fakeDocs) GetPolicyVersion(_ context.Context, arn, v string) (store.PolicyVersion, error) {
	doc, ok := f[arn+" "+v]
	if !ok {
		return store.PolicyVersion{}, store.ErrNotFound
	}
	return store.PolicyVersion{PolicyARN: arn, VersionID: v, Document: doc}, nil
}

func withResources(e *audit.Event, arns ...string) *audit.Event {
	for _, a := range arns {
		e.Resources = append(e.Resources, audit.Resource{ARN: a})
	}
	return e
}

func TestEntityOf(t *testing.T) {
	for _, tt := range []struct {
		arns       []string
		name, kind string
	}{
		{[]string{"arn:aws:iam::123456789012:user/team/eve"}, "eve", "user"},
		{[]string{"arn:aws:iam::123456789012:policy/p", "arn:aws:iam::123456789012:role/app"}, "app", "role"},
		{[]string{"arn:aws:iam::123456789012:group/ops"}, "ops", "group"},
		{[]string{"arn:aws:s3:::bucket", "arn:aws:iam::123456789012:root"}, "", ""},
	} {
		var rs []audit.Resource
		for _, a := range tt.arns {
			rs = append(rs, audit.Resource{ARN: a})
		}
		if n, k := entityOf(rs); n != tt.name || k != tt.kind {
			t.Errorf("entityOf(%v) = %s %s, want %s %s", tt.arns, n, k, tt.name, tt.kind)
		}
	}
}

type fakeKeys map[string]store.AccessKey

func (f fakeKeys) GetAccessKey(_ context.Context, id string) (store.AccessKey, error) {
	k, ok := f[id]
	if !ok {
		return store.AccessKey{}, store.ErrNotFound
	}
	return k, nil
}

// TestSignatureFailuresOwner: a finding about an existing long-term key
// goes to the key's account and names its user; others to the default.
func TestSignatureFailuresOwner(t *testing.T) {
	d := NewSignatureFailures(Thresholds{SignatureFailures: 1})
	d.Keys = fakeKeys{"AKIAALICEALICEALICE1": {AccessKeyID: "AKIAALICEALICEALICE1", AccountID: "210987654321", UserName: "alice"}}
	for _, tt := range []struct{ key, account, user string }{
		{"AKIAALICEALICEALICE1", "210987654321", "alice"},
		{"AKIANOBODYNOBODYNOB1", "", ""},
		{"ASIASESSIONSESSION01", "", ""},
	} {
		sigs := d.Inspect(badSig(0, tt.key, "", "SignatureDoesNotMatch"))
		if len(sigs) != 1 || sigs[0].Account != tt.account {
			t.Fatalf("%s: %+v", tt.key, sigs)
		}
		if got := string(sigs[0].Resources[0].Details); (tt.user != "") != strings.Contains(got, tt.user+`"`) || (tt.user == "" && got != "") {
			t.Fatalf("%s: details %s", tt.key, got)
		}
	}
}

// TestReset: after Reset a burst starts from nothing and is written at
// once.
func TestReset(t *testing.T) {
	sf := NewSignatureFailures(Thresholds{SignatureFailures: 2, SignatureWindow: time.Hour})
	e, hub, _ := newEngine(t, sf)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- e.Run(ctx) }()
	e.Observe(badSig(0, "AKIAX", "", "SignatureDoesNotMatch"))
	if err := e.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.Observe(badSig(1, "AKIAX", "", "SignatureDoesNotMatch"))
	// One event since the reset: under the threshold of 2.
	deadline := time.Now().Add(2 * time.Second)
	for e.Stats().Seen < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if fs, _, _ := hub.Query(context.Background(), findings.Query{}); len(fs) != 0 {
		t.Fatalf("findings after reset: %+v", fs)
	}
}

// TestLateWriteKeepsResolved: events from before a finding was resolved,
// written late by the coalescing, do not reopen it.
func TestLateWriteKeepsResolved(t *testing.T) {
	e, hub, clk := newEngine(t, NewSignatureFailures(Thresholds{SignatureFailures: 2, SignatureWindow: time.Minute}))
	ctx := t.Context()
	clk.add(2 * time.Second)
	e.Process(ctx, badSig(0, "AKIAX", "", "SignatureDoesNotMatch"))
	e.Process(ctx, badSig(1, "AKIAX", "", "SignatureDoesNotMatch")) // written
	e.Process(ctx, badSig(2, "AKIAX", "", "SignatureDoesNotMatch")) // coalesced
	key := findings.Identifier{ID: FindingID("bulwark/signature-failures", acct, "accesskey/AKIAX"), ProductARN: hub.ProductARN()}
	clk.add(8 * time.Second)
	hub.BatchUpdate(ctx, acct, []findings.Identifier{key}, findings.BatchUpdate{Workflow: &findings.Workflow{Status: "RESOLVED"}})
	e.Flush(ctx)
	f, err := hub.Get(ctx, key)
	if err != nil || f.Workflow.Status != "RESOLVED" || f.ProductFields["bulwark/EventCount"] != "3" {
		t.Fatalf("late write: %v %+v", err, f)
	}
}

// TestQueueByteBudget: queued parameters stay within the budget; events
// past it are queued without them, and the budget comes back as events
// are inspected or dropped. Failed calls and sources no detector reads
// keep no parameters at all.
func TestQueueByteBudget(t *testing.T) {
	e, _, _ := newEngine(t)
	e.queue = make(chan audit.Event, 100)
	big := map[string]string{"policyDocument": strings.Repeat("x", 1<<20)}
	for i := range 20 {
		e.Observe(ev(i, bob, "iam.amazonaws.com", "PutUserPolicy", "", "", big))
	}
	if got := e.queuedBytes.Load(); got > maxQueuedBytes || got < maxQueuedBytes-(2<<20) {
		t.Fatalf("queued bytes %d, budget %d", got, maxQueuedBytes)
	}
	if st := e.Stats(); st.Truncated != 5 {
		t.Fatalf("truncated %d, want 5", st.Truncated)
	}
	e.Observe(ev(20, bob, "iam.amazonaws.com", "PutUserPolicy", "AccessDenied", "", big))
	e.Observe(ev(21, bob, "sts.amazonaws.com", "GetCallerIdentity", "", "", big))
	for len(e.queue) > 0 {
		ev := <-e.queue
		if ev.EventID == "ev-20" || ev.EventID == "ev-21" {
			if ev.RequestParameters != nil {
				t.Fatalf("%s kept its parameters", ev.EventID)
			}
		}
		e.Process(t.Context(), &ev)
	}
	if got := e.queuedBytes.Load(); got != 0 {
		t.Fatalf("queued bytes %d after draining", got)
	}
}
