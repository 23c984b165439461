// Package respond is Bulwark's automated response: rules that match new
// findings (EventBridge-style patterns over the ASFF JSON) and run actions
// on what a finding names: deactivate an access key, revoke a role's active
// sessions, quarantine a user or role with a deny-all policy, notify an SNS
// topic.
//
// Each action runs at most once per finding and rule: matching enqueues one
// execution row per action, keyed by (account, rule, finding, action
// index), in the store; workers on any server lease due rows, run them,
// retry failures with backoff and record the outcome. Findings reach the
// engine as they are written (Observe, an in-memory queue) and, for what
// that misses (a full queue, a crash, another server), from a periodic
// sweep of the store's NEW findings. Every attempt is
// recorded in the audit trail as the IAM or SNS call it amounts to, made by
// the "AWSService" identity bulwark-response.
package respond

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwark-security/bulwark/internal/audit"
	"github.com/bulwark-security/bulwark/internal/findings"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Publisher publishes a message to an SNS topic.
type Publisher interface {
	PublishFinding(ctx context.Context, topicARN, subject, message string) error
}

// AccessKeys is the part of the store DisableAccessKey uses.
type AccessKeys interface {
	GetAccessKey(ctx context.Context, accessKeyID string) (store.AccessKey, error)
	SetAccessKeyStatus(ctx context.Context, accessKeyID string, status store.KeyStatus) error
}

// Config is what the engine needs.
type Config struct {
	Store store.Response
	Keys  AccessKeys
	IAM   store.IAM
	// Forget drops an access key from the credential cache (the
	// credentials resolver's Forget); optional.
	Forget func(accessKeyID string)
	// Invalidate drops cached policies after an inline policy changes;
	// optional.
	Invalidate func()
	// Publisher notifies topics; NotifyTopic fails without it.
	Publisher Publisher
	// Audit records every action attempt; required.
	Audit  audit.Sink
	Region string
	Logger *slog.Logger
	Now    func() time.Time
	// Owner names this server's leases (default: random).
	Owner string
	// Poll is how often due executions are looked for (default 1 s).
	Poll time.Duration
	// MaxAttempts bounds the attempts of one action (default 5).
	MaxAttempts int
	// RetryBase is the first retry delay, doubled per attempt up to 5
	// minutes (default 2 s).
	RetryBase time.Duration
	// QueueSize bounds findings waiting to be matched (default 1024).
	QueueSize int
	// Findings, if set, is swept for new findings the live path missed
	// (a full queue, a crash between a finding's commit and its match, a
	// finding written by another server that stopped): at start every NEW
	// active finding, then every SweepEvery those updated since the last
	// sweep. Matching is idempotent, so a finding seen twice acts once.
	Findings store.Findings
	// SweepEvery is how often Findings is swept (default 1 minute).
	SweepEvery time.Duration
}

// Engine matches findings against rules and runs the actions.
type Engine struct {
	cfg   Config
	queue chan findings.Change
	wake  chan struct{}

	dropped   atomic.Int64
	outcomes  *prometheus.CounterVec
	droppedC  prometheus.CounterFunc
	mu        sync.Mutex
	rules     map[string][]namedRule // by account
	rulesAt   time.Time
	rulesDirt bool
}

type namedRule struct {
	name    string
	rule    *Rule
	updated time.Time // when the rule was last written
}

// rulesTTL bounds how stale another server's rule changes can be here.
const rulesTTL = 10 * time.Second

// New returns an engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Keys == nil || cfg.IAM == nil || cfg.Audit == nil || cfg.Region == "" {
		return nil, errors.New("respond: Store, Keys, IAM, Audit and Region are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Owner == "" {
		cfg.Owner = fmt.Sprintf("respond-%016x", rand.Uint64())
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 2 * time.Second
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1024
	}
	e := &Engine{cfg: cfg, queue: make(chan findings.Change, cfg.QueueSize), wake: make(chan struct{}, 1),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bulwark_response_action_attempts_total",
			Help: "Automated response action attempts by action type and outcome (succeeded, retry, failed)."}, []string{"type", "outcome"})}
	e.droppedC = prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "bulwark_response_dropped_findings_total",
		Help: "Finding changes dropped because the response queue was full."}, func() float64 { return float64(e.dropped.Load()) })
	return e, nil
}

// Collectors returns the engine's metrics.
func (e *Engine) Collectors() []prometheus.Collector {
	return []prometheus.Collector{e.outcomes, e.droppedC}
}

// Observe queues a finding change for matching; it never blocks (a full
// queue drops the change and counts it). Subscribe it to the findings hub.
func (e *Engine) Observe(c findings.Change) {
	select {
	case e.queue <- c:
	default:
		if n := e.dropped.Add(1); n == 1 || n%100 == 0 {
			e.cfg.Logger.Warn("respond: finding queue full; dropped finding changes", "dropped", n)
		}
	}
}

// Dropped counts finding changes dropped because the queue was full.
func (e *Engine) Dropped() int64 { return e.dropped.Load() }

// RulesChanged makes the next match reload the rules.
func (e *Engine) RulesChanged() {
	e.mu.Lock()
	e.rulesDirt = true
	e.mu.Unlock()
}

func (e *Engine) loadRules(ctx context.Context) (map[string][]namedRule, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rules != nil && !e.rulesDirt && e.cfg.Now().Sub(e.rulesAt) < rulesTTL {
		return e.rules, nil
	}
	rs, err := e.cfg.Store.ListResponseRules(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("load response rules: %w", err)
	}
	m := map[string][]namedRule{}
	for _, r := range rs {
		if !r.Enabled {
			continue
		}
		parsed, err := ParseRule([]byte(r.Body))
		if err != nil {
			e.cfg.Logger.Error("respond: stored rule does not parse; skipped", "rule", r.Name, "account", r.AccountID, "err", err)
			continue
		}
		m[r.AccountID] = append(m[r.AccountID], namedRule{name: r.Name, rule: parsed, updated: r.UpdatedAt})
	}
	e.rules, e.rulesAt, e.rulesDirt = m, e.cfg.Now(), false
	return m, nil
}

// FindingKey is the execution key of a finding: its product and Id.
func FindingKey(f *findings.Finding) string { return f.ProductARN + "|" + f.ID }

// changeKey is the execution key of a change: the finding's, plus the
// time of the update when a resolved or archived finding came back (the
// detectors reopen one finding per ongoing condition), so a recurrence is
// acted on again.
func changeKey(c *findings.Change) string {
	key := FindingKey(&c.Finding)
	if p := c.Previous; p != nil && (p.Workflow.Status == findings.WorkflowResolved || p.RecordState == findings.RecordArchived) &&
		c.Finding.Workflow.Status == findings.WorkflowNew && c.Finding.RecordState != findings.RecordArchived {
		key += "#" + c.Finding.UpdatedAt.UTC().Format(time.RFC3339Nano)
	}
	return key
}

// HandleChange matches a changed finding like HandleFinding; a finding
// that recurs after it was resolved is a new occurrence.
func (e *Engine) HandleChange(ctx context.Context, c *findings.Change) (int, error) {
	return e.handle(ctx, &c.Finding, changeKey(c), time.Time{})
}

// HandleFinding matches a finding against its account's rules and
// enqueues the actions of every matching rule (once per rule and finding).
// It returns how many actions it enqueued.
func (e *Engine) HandleFinding(ctx context.Context, f *findings.Finding) (int, error) {
	return e.handle(ctx, f, FindingKey(f), time.Time{})
}

// handle enqueues the actions of f's matching rules under key; with a
// non-zero asOf only rules last changed by then count (a sweep acts as the
// live path would have when the finding changed, not with rules written
// later).
func (e *Engine) handle(ctx context.Context, f *findings.Finding, key string, asOf time.Time) (int, error) {
	rules, err := e.loadRules(ctx)
	if err != nil {
		return 0, err
	}
	candidates := rules[f.AwsAccountID]
	if len(candidates) == 0 {
		return 0, nil
	}
	doc, err := json.Marshal(f)
	if err != nil {
		return 0, fmt.Errorf("encode finding: %w", err)
	}
	var es []store.ResponseExecution
	now := e.cfg.Now()
	for _, nr := range candidates {
		if !asOf.IsZero() && nr.updated.After(asOf) {
			continue
		}
		ok, err := nr.rule.Matches(doc)
		if err != nil {
			return 0, err
		}
		if !ok {
			continue
		}
		for i, a := range nr.rule.Actions {
			es = append(es, store.ResponseExecution{AccountID: f.AwsAccountID, RuleName: nr.name, FindingID: key,
				ActionIndex: i, Action: a.json(), Finding: string(doc), NextAttemptAt: now, CreatedAt: now})
		}
	}
	if len(es) == 0 {
		return 0, nil
	}
	n, err := e.cfg.Store.EnqueueResponseExecutions(ctx, es)
	if err != nil {
		return 0, fmt.Errorf("enqueue response actions: %w", err)
	}
	if n > 0 {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
	return n, nil
}

// Run matches queued findings and runs due actions until ctx is done.
func (e *Engine) Run(ctx context.Context) error {
	t := time.NewTicker(e.cfg.Poll)
	defer t.Stop()
	var sweep <-chan time.Time
	var sweptFrom time.Time // zero: the first sweep takes every NEW finding
	if e.cfg.Findings != nil {
		st := time.NewTicker(e.cfg.SweepEvery)
		defer st.Stop()
		sweep = st.C
		sweptFrom = e.sweepOnce(ctx, sweptFrom)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sweep:
			sweptFrom = e.sweepOnce(ctx, sweptFrom)
			continue
		case c := <-e.queue:
			if _, err := e.HandleChange(ctx, &c); err != nil && ctx.Err() == nil {
				e.cfg.Logger.Error("respond: match finding", "finding", c.Finding.ID, "err", err)
			}
			continue
		case <-e.wake:
		case <-t.C:
		}
		if err := e.RunDue(ctx); err != nil && ctx.Err() == nil {
			e.cfg.Logger.Error("respond: run actions", "err", err)
		}
	}
}

// sweepOverlap is how far back a sweep starts before the previous one
// began: a finding committed while that sweep ran, with a clock a little
// behind, is still seen.
const sweepOverlap = time.Minute

// sweepOnce sweeps and returns where the next sweep starts; it logs
// failures (the next sweep starts from the same place).
func (e *Engine) sweepOnce(ctx context.Context, from time.Time) time.Time {
	started := e.cfg.Now()
	n, err := e.Sweep(ctx, from)
	if err != nil {
		if ctx.Err() == nil {
			e.cfg.Logger.Error("respond: sweep findings", "err", err)
		}
		return from
	}
	if n > 0 {
		e.cfg.Logger.Warn("respond: sweep found findings the live path had not acted on", "actions", n)
	}
	return started.Add(-sweepOverlap)
}

// sweepPage is how many findings one sweep query reads.
const sweepPage = 500

// Sweep matches every NEW, active finding updated at or after since (all
// of them for a zero since) against the rules that were in place when the
// finding last changed, and enqueues what is not enqueued yet. It returns
// how many actions it enqueued.
func (e *Engine) Sweep(ctx context.Context, since time.Time) (int, error) {
	q := store.FindingQuery{WorkflowStatuses: []string{findings.WorkflowNew}, RecordStates: []string{findings.RecordActive},
		Sort: store.SortUpdatedAt, Desc: true, Limit: sweepPage}
	total := 0
	for {
		recs, err := e.cfg.Findings.ListFindings(ctx, q)
		if err != nil {
			return total, fmt.Errorf("list findings: %w", err)
		}
		for _, r := range recs {
			if r.UpdatedAt.Before(since) {
				return total, nil
			}
			f, err := findings.Decode(r)
			if err != nil {
				e.cfg.Logger.Error("respond: stored finding does not decode; skipped", "finding", r.ID, "err", err)
				continue
			}
			n, err := e.handle(ctx, &f, FindingKey(&f), r.UpdatedAt)
			if err != nil {
				return total, err
			}
			total += n
		}
		if len(recs) < sweepPage {
			return total, nil
		}
		last := recs[len(recs)-1]
		q.After = &store.FindingCursor{Time: last.UpdatedAt, ProductARN: last.ProductARN, ID: last.ID}
	}
}

// RunDue runs every due action once.
func (e *Engine) RunDue(ctx context.Context) error {
	for {
		es, err := e.cfg.Store.ClaimResponseExecutions(ctx, e.cfg.Owner, e.cfg.Now(), 5*time.Minute, 16)
		if err != nil {
			return err
		}
		for _, x := range es {
			e.execute(ctx, x)
		}
		if len(es) < 16 {
			return nil
		}
	}
}

// permanent marks an error retrying cannot fix.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

func permanentf(format string, args ...any) error { return permanent{fmt.Errorf(format, args...)} }

// Permanent marks err as one retrying cannot fix (a Publisher's "no such
// topic"): the action fails at once instead of being retried.
func Permanent(err error) error { return permanent{err} }

func (e *Engine) execute(ctx context.Context, x store.ResponseExecution) {
	log := e.cfg.Logger.With("rule", x.RuleName, "finding", x.FindingID, "action", x.ActionIndex, "attempt", x.Attempts+1)
	var a Action
	var f findings.Finding
	err := json.Unmarshal([]byte(x.Action), &a)
	if err == nil {
		if err = json.Unmarshal([]byte(x.Finding), &f); err != nil {
			err = permanentf("decode finding: %v", err)
		}
	} else {
		err = permanentf("decode action: %v", err)
	}
	if err == nil {
		err = e.run(ctx, x, a, &f)
	}
	now := e.cfg.Now()
	status, next := store.ExecSucceeded, now
	var msg string
	outcome := "succeeded"
	if err != nil {
		msg = truncate(err.Error(), 1024)
		var p permanent
		if errors.As(err, &p) || x.Attempts+1 >= e.cfg.MaxAttempts {
			status, outcome = store.ExecFailed, "failed"
			log.Error("respond: action failed", "err", err)
		} else {
			outcome = "retry"
			status = store.ExecPending
			d := e.cfg.RetryBase << min(x.Attempts, 10)
			d = min(d, 5*time.Minute)
			next = now.Add(time.Duration(float64(d) * (0.8 + 0.4*rand.Float64())))
			log.Warn("respond: action failed; will retry", "err", err, "at", next)
		}
	} else {
		log.Info("respond: action done", "type", a.Type)
	}
	e.outcomes.WithLabelValues(a.Type, outcome).Inc()
	if _, ferr := e.cfg.Store.FinishResponseExecution(ctx, x, e.cfg.Owner, status, next, now, msg); ferr != nil {
		log.Error("respond: record action outcome", "err", ferr)
	}
}

func (e *Engine) run(ctx context.Context, x store.ResponseExecution, a Action, f *findings.Finding) error {
	if f.AwsAccountID != x.AccountID {
		return permanentf("finding belongs to account %s, rule to %s", f.AwsAccountID, x.AccountID)
	}
	switch a.Type {
	case ActionDisableAccessKey:
		return e.disableAccessKeys(ctx, x, a, f)
	case ActionRevokeRoleSessions:
		return e.revokeSessions(ctx, x, f)
	case ActionQuarantine:
		return e.quarantine(ctx, x, a, f)
	case ActionNotifyTopic:
		return e.notify(ctx, x, a, f)
	}
	return permanentf("unknown action %q", a.Type)
}

func resourcesOf(f *findings.Finding, typ string) []string {
	var out []string
	for _, r := range f.Resources {
		if r.Type == typ && r.ID != "" && r.ID != "-" {
			out = append(out, r.ID)
		}
	}
	return out
}

func (e *Engine) disableAccessKeys(ctx context.Context, x store.ResponseExecution, a Action, f *findings.Finding) error {
	ids := resourcesOf(f, "AwsIamAccessKey")
	if len(ids) == 0 {
		return permanentf("the finding names no access key (Resources of Type AwsIamAccessKey)")
	}
	var errs []error
	for _, id := range ids {
		k, err := e.cfg.Keys.GetAccessKey(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// Bad signatures often name keys that do not exist.
			errs = append(errs, permanentf("access key %s does not exist", id))
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("load access key %s: %w", id, err))
			continue
		case k.AccountID != x.AccountID:
			errs = append(errs, permanentf("access key %s is not in account %s", id, x.AccountID))
			continue
		case k.PrincipalType == store.PrincipalRoot && !a.IncludeRoot:
			errs = append(errs, permanentf("access key %s is the account root's; set IncludeRoot to disable it", id))
			continue
		}
		params := map[string]any{"accessKeyId": id, "status": string(store.KeyInactive)}
		if k.UserName != "" {
			params["userName"] = k.UserName
		}
		err = nil
		if k.Status != store.KeyInactive {
			err = e.cfg.Keys.SetAccessKeyStatus(ctx, id, store.KeyInactive)
		}
		if e.cfg.Forget != nil {
			e.cfg.Forget(id)
		}
		if aerr := e.record(ctx, x, "iam.amazonaws.com", "UpdateAccessKey", params, err, "AWS::IAM::AccessKey", k.PrincipalARN); aerr != nil {
			errs = append(errs, aerr)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("deactivate access key %s: %w", id, err))
		}
	}
	return joinErrs(errs)
}

// joinErrs joins errors; the result is permanent only if every one is.
func joinErrs(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	all := true
	for _, err := range errs {
		var p permanent
		if !errors.As(err, &p) {
			all = false
		}
	}
	err := errors.Join(errs...)
	if all {
		return permanent{err}
	}
	return err
}

// entityName splits arn:aws:iam::<acct>:<kind>/<path>/<name> for kind
// "user" or "role".
func entityName(arn, kind string) (account, name string, ok bool) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if !ok {
		return "", "", false
	}
	account, res, ok := strings.Cut(rest, ":")
	if !ok {
		return "", "", false
	}
	res, ok = strings.CutPrefix(res, kind+"/")
	if !ok || res == "" {
		return "", "", false
	}
	return account, res[strings.LastIndexByte(res, '/')+1:], true
}

// revokeSessionsPolicy is what the IAM console attaches for "Revoke active
// sessions": deny everything to sessions issued before now.
func revokeSessionsPolicy(now time.Time) string {
	// Rounded up to the next second: aws:TokenIssueTime has second
	// precision, and a session issued earlier in this second must not
	// escape the revocation.
	cut := now.UTC().Truncate(time.Second).Add(time.Second).Format(time.RFC3339)
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],` +
		`"Condition":{"DateLessThan":{"aws:TokenIssueTime":"` + cut + `"}}}]}`
}

const quarantinePolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"BulwarkQuarantine","Effect":"Deny","Action":"*","Resource":"*"}]}`

func (e *Engine) revokeSessions(ctx context.Context, x store.ResponseExecution, f *findings.Finding) error {
	arns := resourcesOf(f, "AwsIamRole")
	if len(arns) == 0 {
		return permanentf("the finding names no role (Resources of Type AwsIamRole)")
	}
	var errs []error
	for _, arn := range arns {
		errs = append(errs, e.putInline(ctx, x, store.EntityRole, arn, RevokeSessionsPolicyName, revokeSessionsPolicy(e.cfg.Now())))
	}
	return joinErrs(compact(errs))
}

func (e *Engine) quarantine(ctx context.Context, x store.ResponseExecution, a Action, f *findings.Finding) error {
	name := a.PolicyName
	if name == "" {
		name = DefaultQuarantinePolicyName
	}
	var errs []error
	n := 0
	for _, arn := range resourcesOf(f, "AwsIamUser") {
		n++
		errs = append(errs, e.putInline(ctx, x, store.EntityUser, arn, name, quarantinePolicy))
	}
	for _, arn := range resourcesOf(f, "AwsIamRole") {
		n++
		errs = append(errs, e.putInline(ctx, x, store.EntityRole, arn, name, quarantinePolicy))
	}
	if n == 0 {
		return permanentf("the finding names no user or role (Resources of Type AwsIamUser or AwsIamRole)")
	}
	return joinErrs(compact(errs))
}

func compact(errs []error) []error {
	out := errs[:0]
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

func (e *Engine) putInline(ctx context.Context, x store.ResponseExecution, kind store.EntityKind, arn, policyName, doc string) error {
	account, name, ok := entityName(arn, string(kind))
	if !ok {
		return permanentf("%q is not an IAM %s ARN", arn, kind)
	}
	if account != x.AccountID {
		return permanentf("%s is not in account %s", arn, x.AccountID)
	}
	var err error
	var stored string
	switch kind {
	case store.EntityRole:
		var r store.Role
		if r, err = e.cfg.IAM.GetRole(ctx, account, name); err == nil {
			stored = r.RoleName
			if r.ARN != arn {
				err = store.ErrNotFound
			}
		}
	case store.EntityUser:
		var u store.User
		if u, err = e.cfg.IAM.GetUser(ctx, account, name); err == nil {
			stored = u.UserName
			if u.ARN != arn {
				err = store.ErrNotFound
			}
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return permanentf("%s %s does not exist", kind, arn)
	}
	if err != nil {
		return fmt.Errorf("load %s %s: %w", kind, arn, err)
	}
	err = e.cfg.IAM.PutInlinePolicy(ctx, store.InlinePolicy{AccountID: account, EntityKind: kind, EntityName: stored, PolicyName: policyName, Document: doc})
	if err == nil && e.cfg.Invalidate != nil {
		e.cfg.Invalidate()
	}
	event, param, rtype := "PutRolePolicy", "roleName", "AWS::IAM::Role"
	if kind == store.EntityUser {
		event, param, rtype = "PutUserPolicy", "userName", "AWS::IAM::User"
	}
	params := map[string]any{param: stored, "policyName": policyName, "policyDocument": doc}
	if aerr := e.record(ctx, x, "iam.amazonaws.com", event, params, err, rtype, arn); aerr != nil {
		return aerr
	}
	if err != nil {
		return fmt.Errorf("put policy %s on %s: %w", policyName, arn, err)
	}
	return nil
}

func (e *Engine) notify(ctx context.Context, x store.ResponseExecution, a Action, f *findings.Finding) error {
	if e.cfg.Publisher == nil {
		return permanentf("no SNS publisher configured")
	}
	parts := strings.Split(a.TopicArn, ":")
	if len(parts) != 6 || parts[4] != x.AccountID {
		return permanentf("topic %s is not in account %s", a.TopicArn, x.AccountID)
	}
	subject := subjectFor(f)
	err := e.cfg.Publisher.PublishFinding(ctx, a.TopicArn, subject, x.Finding)
	params := map[string]any{"topicArn": a.TopicArn, "subject": subject}
	if aerr := e.record(ctx, x, "sns.amazonaws.com", "Publish", params, err, "AWS::SNS::Topic", a.TopicArn); aerr != nil {
		return aerr
	}
	if err != nil {
		return fmt.Errorf("publish to %s: %w", a.TopicArn, err)
	}
	return nil
}

// subjectFor is the notification's Subject: SNS allows 100 printable ASCII
// characters.
func subjectFor(f *findings.Finding) string {
	s := "Bulwark finding: " + f.Severity.Label + " " + f.Title
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < 100; i++ {
		if c := s[i]; c >= 0x20 && c <= 0x7e {
			b = append(b, c)
		}
	}
	return strings.TrimSpace(string(b))
}

// ErrorCoder is implemented by errors that carry an AWS error code.
type ErrorCoder interface{ ErrorCode() string }

// record writes the audit event of one action attempt.
func (e *Engine) record(ctx context.Context, x store.ResponseExecution, source, name string, params map[string]any, actErr error, rtype, resource string) error {
	params["bulwarkResponseRule"] = x.RuleName
	params["bulwarkFindingId"] = x.FindingID
	req, _ := json.Marshal(params)
	now := e.cfg.Now().UTC()
	ev := &audit.Event{
		EventVersion: audit.EventVersion, EventTime: now, EventSource: source, EventName: name,
		AWSRegion: e.cfg.Region, SourceIPAddress: "bulwark-response", UserAgent: "bulwark-response",
		UserIdentity:      audit.UserIdentity{Type: "AWSService", PrincipalID: "bulwark-response"},
		RequestParameters: req, RequestID: newID(), EventID: newID(), EventType: "AwsApiCall",
		ManagementEvent: true, EventCategory: "Management", RecipientAccountID: x.AccountID,
		Resources: []audit.Resource{{ARN: resource, AccountID: x.AccountID, Type: rtype}},
	}
	if actErr != nil {
		ev.ErrorCode, ev.ErrorMessage = "InternalFailure", truncate(actErr.Error(), 256)
		var ec ErrorCoder
		if errors.As(actErr, &ec) {
			ev.ErrorCode = ec.ErrorCode()
		}
	}
	if err := e.cfg.Audit.Record(ctx, ev); err != nil {
		// The action is retried (each is idempotent) until its record
		// is written: no response action goes unaudited.
		return fmt.Errorf("record audit event %s: %w", name, err)
	}
	return nil
}

func newID() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
