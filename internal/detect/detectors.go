package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/bulwark-security/bulwark/internal/audit"
	"github.com/bulwark-security/bulwark/internal/findings"
	"github.com/bulwark-security/bulwark/internal/policy"
	"github.com/bulwark-security/bulwark/internal/store"
)

// Thresholds configure the detectors. Zero fields take the defaults
// (Defaults).
type Thresholds struct {
	// SignatureFailures failed signatures (SignatureDoesNotMatch,
	// IncompleteSignature, InvalidClientTokenId) from one access key or one
	// source address within SignatureWindow.
	SignatureFailures int
	SignatureWindow   time.Duration
	// AccessDenied denials of one principal within AccessDeniedWindow.
	AccessDenied       int
	AccessDeniedWindow time.Duration
	// SecretReads secret values read by one principal within
	// SecretReadsWindow.
	SecretReads       int
	SecretReadsWindow time.Duration
	// NewIPKeys access keys whose source addresses are remembered, with
	// NewIPPerKey addresses each (least recently used forgotten first).
	NewIPKeys   int
	NewIPPerKey int
	// Subjects bounds the subjects (keys, addresses, principals) each
	// windowed detector tracks.
	Subjects int
}

// Defaults are the thresholds used for zero fields.
var Defaults = Thresholds{
	SignatureFailures: 10, SignatureWindow: 5 * time.Minute,
	AccessDenied: 20, AccessDeniedWindow: 5 * time.Minute,
	SecretReads: 50, SecretReadsWindow: time.Minute,
	NewIPKeys: 10000, NewIPPerKey: 16,
	Subjects: 10000,
}

// WithDefaults fills zero fields from Defaults.
func (t Thresholds) WithDefaults() Thresholds {
	d := Defaults
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&t.SignatureFailures, d.SignatureFailures)
	setD(&t.SignatureWindow, d.SignatureWindow)
	set(&t.AccessDenied, d.AccessDenied)
	setD(&t.AccessDeniedWindow, d.AccessDeniedWindow)
	set(&t.SecretReads, d.SecretReads)
	setD(&t.SecretReadsWindow, d.SecretReadsWindow)
	set(&t.NewIPKeys, d.NewIPKeys)
	set(&t.NewIPPerKey, d.NewIPPerKey)
	set(&t.Subjects, d.Subjects)
	return t
}

// Options configure the detectors All returns.
type Options struct {
	Thresholds Thresholds
	// Dev marks a development deployment, where the root credential is
	// used by design.
	Dev bool
	// Policies, if set, lets PolicyGrantsAll read the managed policies an
	// event names (store.IAM).
	Policies PolicyDocuments
	// Keys, if set, lets SignatureFailures find the account of a claimed
	// long-term access key (store.Store), so the finding goes to the
	// key's account rather than the deployment's default one.
	Keys KeyAccounts
}

// All returns every detector.
func All(o Options) []Detector {
	t := o.Thresholds.WithDefaults()
	sf := NewSignatureFailures(t)
	sf.Keys = o.Keys
	return []Detector{
		sf, NewAccessDeniedBurst(t), &RootCredentialUse{Dev: o.Dev}, NewNewSourceIP(t),
		NewSecretReads(t), PolicyGrantsAll{Documents: o.Policies}, AccessKeyForOtherUser{}, AuditConfigChange{},
	}
}

// KeyAccounts finds long-term access keys (store.Store does).
type KeyAccounts interface {
	GetAccessKey(ctx context.Context, accessKeyID string) (store.AccessKey, error)
}

// PolicyDocuments reads managed policies and their versions (store.IAM
// does).
type PolicyDocuments interface {
	GetPolicy(ctx context.Context, arn string) (store.ManagedPolicy, error)
	GetPolicyVersion(ctx context.Context, arn, versionID string) (store.PolicyVersion, error)
}

// Finding types (ASFF "namespace/category/classifier").
const (
	typeBruteForce       = "TTPs/Credential Access/Brute Force"
	typeDiscovery        = "TTPs/Discovery/Permission Enumeration"
	typeUnusualUser      = "Unusual Behaviors/User"
	typeDataExposure     = "Effects/Data Exposure"
	typePrivEsc          = "TTPs/Privilege Escalation"
	typePersistence      = "TTPs/Persistence"
	typeDefenseEvasion   = "TTPs/Defense Evasion"
	typeIAMBestPractices = "Software and Configuration Checks/AWS Security Best Practices"
)

// burst is the shared state machine of the windowed detectors: a sliding
// window per subject that reports the burst once when it crosses the
// threshold (with the whole window's count) and then every further event
// while it lasts.
type burst struct {
	threshold int
	span      time.Duration
	subjects  *lru[*burstState]
	// key names the burst's counts in the store and shared is set when
	// they are exchanged with other servers (shared.go).
	key    string
	shared bool
}

type burstState struct {
	w   window
	ids []string
	// Shared windows (shared.go): this server's events per bucket, whether
	// they changed since the last exchange, and the other servers' sum.
	buckets map[int64]int64
	dirty   bool
	remote  int64
}

func newBurst(threshold int, span time.Duration, subjects int) *burst {
	return &burst{threshold: threshold, span: span, subjects: newLRU[*burstState](subjects)}
}

func (b *burst) reset() { b.subjects = newLRU[*burstState](b.subjects.max) }

// add records an event for subject and returns how many events to report
// (0 when the subject is under the threshold), recent event ids and when
// the reported events began.
func (b *burst) add(subject string, e *audit.Event) (int, []string, time.Time) {
	st := b.subjects.get(subject, func() *burstState { return &burstState{} })
	st.ids = lastN(append(st.ids, e.EventID), maxEventIDs)
	hot := st.w.add(e.EventTime, b.threshold, b.span)
	if b.shared && b.count(st, e.EventTime) {
		hot = true
	}
	switch {
	case !hot:
		st.w.firing = false
		return 0, nil, time.Time{}
	case !st.w.firing:
		st.w.firing = true
		return b.threshold, append([]string(nil), st.ids...), st.w.oldest()
	}
	return 1, []string{e.EventID}, e.EventTime
}

// accessKeyResource is the resource of an access key.
func accessKeyResource(id, user string) findings.Resource {
	r := findings.Resource{Type: "AwsIamAccessKey", ID: id, Partition: "aws"}
	if user != "" {
		r.Details = mustJSON(map[string]any{"AwsIamAccessKey": map[string]string{"PrincipalName": user}})
	}
	return r
}

// principalResource is the resource of a caller: the user, the role of an
// assumed-role session, or the account's root.
func principalResource(id audit.UserIdentity) findings.Resource {
	switch id.Type {
	case "IAMUser":
		return findings.Resource{Type: "AwsIamUser", ID: id.ARN, Partition: "aws"}
	case "AssumedRole":
		return findings.Resource{Type: "AwsIamRole", ID: roleARN(id.ARN), Partition: "aws"}
	}
	return findings.Resource{Type: "Other", ID: orDash(id.ARN), Partition: "aws"}
}

// roleARN turns arn:aws:sts::<acct>:assumed-role/<role>/<session> into
// the role's ARN (the role's path is not in the session ARN).
func roleARN(sessionARN string) string {
	const marker = ":assumed-role/"
	i := strings.Index(sessionARN, marker)
	if i < 0 {
		return sessionARN
	}
	head := strings.Replace(sessionARN[:i], ":sts:", ":iam:", 1)
	role, _, _ := strings.Cut(sessionARN[i+len(marker):], "/")
	return head + ":role/" + role
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func failed(e *audit.Event) bool { return e.ErrorCode != "" }

// SignatureFailures reports repeated signature failures from one access
// key or one source address: someone guessing secrets, or a leaked key
// id used without its secret.
type SignatureFailures struct {
	byKey, byIP *burst
	// Keys, if set, names the account and user of a claimed key that
	// exists; other findings go to the engine's default account.
	Keys KeyAccounts
}

// owner returns the account and user name of a long-term key, if known.
func (d *SignatureFailures) owner(key string) (account, user string) {
	if d.Keys == nil || !strings.HasPrefix(key, "AKIA") {
		return "", ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	k, err := d.Keys.GetAccessKey(ctx, key)
	if err != nil {
		return "", ""
	}
	return k.AccountID, k.UserName
}

// NewSignatureFailures returns the detector with thresholds t.
func NewSignatureFailures(t Thresholds) *SignatureFailures {
	t = t.WithDefaults()
	return &SignatureFailures{
		byKey: newBurst(t.SignatureFailures, t.SignatureWindow, t.Subjects),
		byIP:  newBurst(t.SignatureFailures, t.SignatureWindow, t.Subjects),
	}
}

// Reset implements Resetter.
func (d *SignatureFailures) Reset() { d.byKey.reset(); d.byIP.reset() }

func (*SignatureFailures) Name() string { return "bulwark/signature-failures" }

// signatureCodes are the errors of a request whose signature or key is
// wrong, in both protocol spellings.
var signatureCodes = map[string]bool{
	"SignatureDoesNotMatch": true, "IncompleteSignature": true, "InvalidClientTokenId": true,
	"InvalidSignatureException": true, "IncompleteSignatureException": true, "UnrecognizedClientException": true,
}

func (d *SignatureFailures) Inspect(e *audit.Event) []Signal {
	if !signatureCodes[e.ErrorCode] {
		return nil
	}
	var out []Signal
	key, ip := e.UserIdentity.AccessKeyID, e.SourceIPAddress
	if key != "" {
		if n, ids, since := d.byKey.add(key, e); n > 0 {
			account, user := d.owner(key)
			out = append(out, Signal{
				Subject: "accesskey/" + key, Account: account, Severity: findings.SeverityMedium,
				Types: []string{typeBruteForce}, Count: n, EventIDs: ids, Time: e.EventTime, Since: since,
				Title:       "Repeated signature failures for access key " + key,
				Description: fmt.Sprintf("Requests signed with access key %s failed signature verification (%s) at least %d times within %s; the last came from %s.", key, e.ErrorCode, d.byKey.threshold, d.byKey.span, orDash(ip)),
				Resources:   []findings.Resource{accessKeyResource(key, user)},
				Fields:      map[string]string{"AccessKeyId": key, "SourceIPAddress": ip, "ErrorCode": e.ErrorCode},
			})
		}
	}
	if ip != "" {
		if n, ids, since := d.byIP.add(ip, e); n > 0 {
			out = append(out, Signal{
				Subject: "ip/" + ip, Severity: findings.SeverityMedium,
				Types: []string{typeBruteForce}, Count: n, EventIDs: ids, Time: e.EventTime, Since: since,
				Title:       "Repeated signature failures from " + ip,
				Description: fmt.Sprintf("Requests from %s failed signature verification (%s) at least %d times within %s; the last claimed access key %s.", ip, e.ErrorCode, d.byIP.threshold, d.byIP.span, orDash(key)),
				Resources:   []findings.Resource{{Type: "Other", ID: "ip/" + ip, Partition: "aws"}},
				Fields:      map[string]string{"SourceIPAddress": ip, "AccessKeyId": key, "ErrorCode": e.ErrorCode},
			})
		}
	}
	return out
}

// AccessDeniedBurst reports a burst of denied calls by one principal:
// permission enumeration, or a stolen credential probing what it may do.
type AccessDeniedBurst struct{ b *burst }

// NewAccessDeniedBurst returns the detector with thresholds t.
func NewAccessDeniedBurst(t Thresholds) *AccessDeniedBurst {
	t = t.WithDefaults()
	return &AccessDeniedBurst{b: newBurst(t.AccessDenied, t.AccessDeniedWindow, t.Subjects)}
}

// Reset implements Resetter.
func (d *AccessDeniedBurst) Reset() { d.b.reset() }

func (*AccessDeniedBurst) Name() string { return "bulwark/access-denied-burst" }

func (d *AccessDeniedBurst) Inspect(e *audit.Event) []Signal {
	if (e.ErrorCode != "AccessDenied" && e.ErrorCode != "AccessDeniedException") || e.UserIdentity.ARN == "" {
		return nil
	}
	who := e.UserIdentity.ARN
	n, ids, since := d.b.add(who, e)
	if n == 0 {
		return nil
	}
	return []Signal{{
		Subject: "principal/" + who, Account: e.UserIdentity.AccountID, Severity: findings.SeverityMedium,
		Types: []string{typeDiscovery, typeUnusualUser}, Count: n, EventIDs: ids, Time: e.EventTime, Since: since,
		Title:       "Burst of access denied errors for " + who,
		Description: fmt.Sprintf("%s was denied at least %d times within %s; the last denial was %s:%s from %s.", who, d.b.threshold, d.b.span, e.EventSource, e.EventName, orDash(e.SourceIPAddress)),
		Resources:   []findings.Resource{principalResource(e.UserIdentity), accessKeyResource(orDash(e.UserIdentity.AccessKeyID), e.UserIdentity.UserName)},
		Fields:      map[string]string{"PrincipalArn": who, "AccessKeyId": e.UserIdentity.AccessKeyID, "LastEvent": e.EventSource + ":" + e.EventName},
	}}
}

// RootCredentialUse reports every authenticated call made with the
// account's root credential; the finding per root key is updated on each
// use (coalesced). In development mode the root key is how the CLI is
// used, so the finding is INFORMATIONAL there instead of HIGH.
type RootCredentialUse struct{ Dev bool }

func (*RootCredentialUse) Name() string { return "bulwark/root-credential-use" }

func (d *RootCredentialUse) Inspect(e *audit.Event) []Signal {
	if e.UserIdentity.Type != "Root" {
		return nil
	}
	sev := findings.SeverityHigh
	if d.Dev {
		sev = findings.SeverityInformational
	}
	key := e.UserIdentity.AccessKeyID
	return []Signal{{
		Subject: "root/" + key, Account: e.UserIdentity.AccountID, Severity: sev,
		Types: []string{typeIAMBestPractices, typeUnusualUser}, Count: 1, EventIDs: []string{e.EventID}, Time: e.EventTime,
		Title:       "Root credential used",
		Description: fmt.Sprintf("The root credential of account %s (access key %s) called %s:%s from %s. Use IAM users or roles instead of the root credential.", e.UserIdentity.AccountID, orDash(key), e.EventSource, e.EventName, orDash(e.SourceIPAddress)),
		Resources:   []findings.Resource{{Type: "Other", ID: orDash(e.UserIdentity.ARN), Partition: "aws"}, accessKeyResource(orDash(key), "")},
		Fields:      map[string]string{"AccessKeyId": key, "SourceIPAddress": e.SourceIPAddress, "LastEvent": e.EventSource + ":" + e.EventName},
	}}
}

// NewSourceIP reports a credential used from a source address it has not
// been used from before. The first address of a key is its baseline and
// is not reported; addresses are remembered in memory only, so a restart
// starts new baselines.
type NewSourceIP struct {
	keys  *lru[*lru[struct{}]]
	perIP int
}

// NewNewSourceIP returns the detector with thresholds t.
func NewNewSourceIP(t Thresholds) *NewSourceIP {
	t = t.WithDefaults()
	return &NewSourceIP{keys: newLRU[*lru[struct{}]](t.NewIPKeys), perIP: t.NewIPPerKey}
}

// Reset implements Resetter.
func (d *NewSourceIP) Reset() { d.keys = newLRU[*lru[struct{}]](d.keys.max) }

func (*NewSourceIP) Name() string { return "bulwark/new-source-ip" }

func (d *NewSourceIP) Inspect(e *audit.Event) []Signal {
	key, ip := e.UserIdentity.AccessKeyID, e.SourceIPAddress
	// Only verified callers: a failed signature proves nothing about the key.
	if key == "" || ip == "" || e.UserIdentity.ARN == "" || signatureCodes[e.ErrorCode] {
		return nil
	}
	fresh := false
	ips := d.keys.get(key, func() *lru[struct{}] { fresh = true; return newLRU[struct{}](d.perIP) })
	known := true
	ips.get(ip, func() struct{} { known = false; return struct{}{} })
	if known || fresh {
		return nil
	}
	return []Signal{{
		Subject: "accesskey/" + key + "/ip/" + ip, Account: e.UserIdentity.AccountID, Severity: findings.SeverityLow,
		Types: []string{typeUnusualUser}, Count: 1, EventIDs: []string{e.EventID}, Time: e.EventTime,
		Title:       "Access key " + key + " used from a new address " + ip,
		Description: fmt.Sprintf("%s used access key %s from %s, an address it had not been seen using (%s:%s).", orDash(e.UserIdentity.ARN), key, ip, e.EventSource, e.EventName),
		Resources:   []findings.Resource{accessKeyResource(key, e.UserIdentity.UserName), principalResource(e.UserIdentity)},
		Fields:      map[string]string{"AccessKeyId": key, "SourceIPAddress": ip, "PrincipalArn": e.UserIdentity.ARN},
	}}
}

// SecretReads reports an unusual volume of secret values read by one
// principal (GetSecretValue, and each secret of BatchGetSecretValue).
type SecretReads struct{ b *burst }

// NewSecretReads returns the detector with thresholds t.
func NewSecretReads(t Thresholds) *SecretReads {
	t = t.WithDefaults()
	return &SecretReads{b: newBurst(t.SecretReads, t.SecretReadsWindow, t.Subjects)}
}

// Reset implements Resetter.
func (d *SecretReads) Reset() { d.b.reset() }

func (*SecretReads) Name() string { return "bulwark/secret-reads" }

func (d *SecretReads) Inspect(e *audit.Event) []Signal {
	if e.EventSource != "secretsmanager.amazonaws.com" || failed(e) || e.UserIdentity.ARN == "" ||
		(e.EventName != "GetSecretValue" && e.EventName != "BatchGetSecretValue") {
		return nil
	}
	reads := 1
	if e.EventName == "BatchGetSecretValue" {
		var p struct {
			SecretIDList []string `json:"secretIdList"`
		}
		if json.Unmarshal(requestParameters(e), &p) == nil && len(p.SecretIDList) > 1 {
			reads = min(len(p.SecretIDList), 20)
		}
	}
	who := e.UserIdentity.ARN
	total, lastIDs, since := 0, []string(nil), time.Time{}
	for range reads {
		n, ids, first := d.b.add(who, e)
		total += n
		if ids != nil {
			lastIDs = ids
		}
		if since.IsZero() {
			since = first
		}
	}
	if total == 0 {
		return nil
	}
	return []Signal{{
		Subject: "principal/" + who, Account: e.UserIdentity.AccountID, Severity: findings.SeverityMedium,
		Types: []string{typeDataExposure, typeUnusualUser}, Count: total, EventIDs: lastIDs, Time: e.EventTime, Since: since,
		Title:       "Unusual volume of secret reads by " + who,
		Description: fmt.Sprintf("%s read at least %d secret values within %s; the last from %s.", who, d.b.threshold, d.b.span, orDash(e.SourceIPAddress)),
		Resources:   []findings.Resource{principalResource(e.UserIdentity)},
		Fields:      map[string]string{"PrincipalArn": who, "AccessKeyId": e.UserIdentity.AccessKeyID},
	}}
}

// PolicyGrantsAll reports a successful IAM change that grants every action
// on every resource: an inline or managed policy (or a new version) with
// an Allow of "*" on "*", a version with one made the default, or a
// managed policy with one (AdministratorAccess, or with Documents any
// customer managed policy) attached to a user, group or role.
type PolicyGrantsAll struct {
	// Documents, if set, reads the managed policy an attachment or
	// SetDefaultPolicyVersion names; without it only AdministratorAccess
	// is recognised there.
	Documents PolicyDocuments
}

func (PolicyGrantsAll) Name() string { return "bulwark/policy-grants-all" }

// adminPolicyARN is AWS's managed full-access policy.
const adminPolicyARN = "arn:aws:iam::aws:policy/AdministratorAccess"

func (d PolicyGrantsAll) Inspect(e *audit.Event) []Signal {
	if e.EventSource != "iam.amazonaws.com" || failed(e) {
		return nil
	}
	var p struct {
		PolicyDocument string `json:"policyDocument"`
		PolicyArn      string `json:"policyArn"`
		PolicyName     string `json:"policyName"`
		VersionID      string `json:"versionId"`
		UserName       string `json:"userName"`
		RoleName       string `json:"roleName"`
		GroupName      string `json:"groupName"`
	}
	switch e.EventName {
	case "PutUserPolicy", "PutRolePolicy", "PutGroupPolicy", "CreatePolicy", "CreatePolicyVersion",
		"AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy", "SetDefaultPolicyVersion":
	default:
		return nil
	}
	if err := json.Unmarshal(requestParameters(e), &p); err != nil {
		return nil
	}
	target, kind := "", ""
	switch {
	case p.UserName != "":
		target, kind = p.UserName, "user"
	case p.RoleName != "":
		target, kind = p.RoleName, "role"
	case p.GroupName != "":
		target, kind = p.GroupName, "group"
	default:
		// Bulwark's IAM records the entity of some calls as a resource
		// rather than a userName/roleName/groupName parameter.
		target, kind = entityOf(e.Resources)
	}
	var what string
	switch {
	case strings.HasPrefix(e.EventName, "Attach"):
		if p.PolicyArn != adminPolicyARN && !d.storedGrantsAll(p.PolicyArn, "") {
			return nil
		}
		what = fmt.Sprintf("attached %s, which allows \"*\" on \"*\", to %s %s", p.PolicyArn, kind, target)
	case e.EventName == "SetDefaultPolicyVersion":
		if !d.storedGrantsAll(p.PolicyArn, p.VersionID) {
			return nil
		}
		what = fmt.Sprintf("made version %s of %s, which allows \"*\" on \"*\", the default", p.VersionID, p.PolicyArn)
	default:
		if !grantsAll(p.PolicyDocument) {
			return nil
		}
		name := p.PolicyName
		if name == "" {
			name = p.PolicyArn
		}
		what = fmt.Sprintf("%s policy %s allowing \"*\" on \"*\"", e.EventName, name)
		if target != "" {
			what += " for " + kind + " " + target
		}
	}
	acct := e.UserIdentity.AccountID
	res := []findings.Resource{principalResource(e.UserIdentity)}
	if target != "" {
		typ := map[string]string{"user": "AwsIamUser", "role": "AwsIamRole", "group": "AwsIamGroup"}[kind]
		res = append(res, findings.Resource{Type: typ, ID: fmt.Sprintf("arn:aws:iam::%s:%s/%s", acct, kind, target), Partition: "aws"})
	}
	subject := fmt.Sprintf("%s/%s/%s/%s", e.EventName, kind, target, p.PolicyName+p.PolicyArn)
	return []Signal{{
		Subject: subject, Account: acct, Severity: findings.SeverityHigh,
		Types: []string{typePrivEsc, typeIAMBestPractices}, Count: 1, EventIDs: []string{e.EventID}, Time: e.EventTime,
		Title:       "IAM change grants full access",
		Description: fmt.Sprintf("%s %s.", orDash(e.UserIdentity.ARN), what),
		Resources:   res,
		Fields:      map[string]string{"PrincipalArn": e.UserIdentity.ARN, "EventName": e.EventName, "PolicyArn": p.PolicyArn, "PolicyName": p.PolicyName},
	}}
}

// entityOf finds the IAM user, role or group among the resources a call
// touched, and returns its name and kind.
func entityOf(rs []audit.Resource) (name, kind string) {
	for _, r := range rs {
		_, rest, ok := strings.Cut(r.ARN, ":iam::")
		if !ok {
			continue
		}
		_, res, _ := strings.Cut(rest, ":")
		for _, k := range []string{"user", "role", "group"} {
			if path, ok := strings.CutPrefix(res, k+"/"); ok {
				return path[strings.LastIndexByte(path, '/')+1:], k
			}
		}
	}
	return "", ""
}

// storedGrantsAll reads a managed policy's version (its default version
// if versionID is empty) and reports whether it allows "*" on "*". A
// policy it cannot read does not count: the detector only reports what it
// can show.
func (d PolicyGrantsAll) storedGrantsAll(arn, versionID string) bool {
	if d.Documents == nil || arn == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if versionID == "" {
		p, err := d.Documents.GetPolicy(ctx, arn)
		if err != nil {
			return false
		}
		versionID = p.DefaultVersionID
	}
	v, err := d.Documents.GetPolicyVersion(ctx, arn, versionID)
	return err == nil && grantsAll(v.Document)
}

// grantsAll reports whether a policy document allows every action on
// every resource in some statement (conditions or not: a condition narrows
// who can use it, not what it grants).
func grantsAll(doc string) bool {
	if doc == "" || doc == audit.Hidden {
		return false
	}
	p, err := policy.Parse([]byte(doc), policy.KindIdentity)
	if err != nil {
		return false
	}
	for _, st := range p.Statements() {
		if st.Effect != policy.EffectAllow || len(st.NotResource) > 0 {
			continue
		}
		if has(st.Action, "*", "*:*") && has(st.Resource, "*") {
			return true
		}
	}
	return false
}

func has(list []string, want ...string) bool {
	for _, v := range list {
		for _, w := range want {
			if v == w {
				return true
			}
		}
	}
	return false
}

// AccessKeyForOtherUser reports an access key created for a user other
// than the caller: a classic way to keep access to an account.
type AccessKeyForOtherUser struct{}

func (AccessKeyForOtherUser) Name() string { return "bulwark/access-key-for-other-user" }

func (AccessKeyForOtherUser) Inspect(e *audit.Event) []Signal {
	if e.EventSource != "iam.amazonaws.com" || e.EventName != "CreateAccessKey" || failed(e) {
		return nil
	}
	var p struct {
		UserName string `json:"userName"`
	}
	if json.Unmarshal(requestParameters(e), &p) != nil || p.UserName == "" {
		return nil // a key for the caller itself
	}
	if e.UserIdentity.Type == "IAMUser" && strings.EqualFold(p.UserName, e.UserIdentity.UserName) {
		return nil
	}
	var created struct {
		AccessKey struct {
			AccessKeyID string `json:"accessKeyId"`
		} `json:"accessKey"`
	}
	_ = json.Unmarshal(e.ResponseElements, &created)
	acct := e.UserIdentity.AccountID
	res := []findings.Resource{
		{Type: "AwsIamUser", ID: fmt.Sprintf("arn:aws:iam::%s:user/%s", acct, p.UserName), Partition: "aws"},
		principalResource(e.UserIdentity),
	}
	if id := created.AccessKey.AccessKeyID; id != "" {
		res = append(res, accessKeyResource(id, p.UserName))
	}
	return []Signal{{
		Subject: "user/" + p.UserName + "/by/" + e.UserIdentity.ARN, Account: acct, Severity: findings.SeverityMedium,
		Types: []string{typePersistence, typeUnusualUser}, Count: 1, EventIDs: []string{e.EventID}, Time: e.EventTime,
		Title:       "Access key created for another user (" + p.UserName + ")",
		Description: fmt.Sprintf("%s created an access key for IAM user %s from %s.", orDash(e.UserIdentity.ARN), p.UserName, orDash(e.SourceIPAddress)),
		Resources:   res,
		Fields:      map[string]string{"PrincipalArn": e.UserIdentity.ARN, "TargetUser": p.UserName},
	}}
}

// AuditConfigChange reports a successful change to the audit
// configuration: CloudTrail trails and selectors, Security Hub itself, and
// the finding workflow being switched off.
type AuditConfigChange struct{}

func (AuditConfigChange) Name() string { return "bulwark/audit-config-change" }

// auditChanges are the event sources and names that change what is
// audited or detected.
var auditChanges = map[string]map[string]bool{
	"cloudtrail.amazonaws.com": {
		"StopLogging": true, "DeleteTrail": true, "UpdateTrail": true, "PutEventSelectors": true,
		"PutInsightSelectors": true, "DeleteEventDataStore": true, "UpdateEventDataStore": true,
		"StopEventDataStoreIngestion": true, "CreateTrail": true, "StartLogging": true,
	},
	"securityhub.amazonaws.com": {
		"DisableSecurityHub": true, "DisableImportFindingsForProduct": true, "UpdateSecurityHubConfiguration": true,
	},
}

func (AuditConfigChange) Inspect(e *audit.Event) []Signal {
	if !auditChanges[e.EventSource][e.EventName] || failed(e) {
		return nil
	}
	sev := findings.SeverityHigh
	if e.EventName == "CreateTrail" || e.EventName == "StartLogging" {
		sev = findings.SeverityLow
	}
	var p struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(requestParameters(e), &p)
	what := e.EventSource + ":" + e.EventName
	if p.Name != "" {
		what += " on " + p.Name
	}
	return []Signal{{
		Subject: e.EventSource + "/" + e.EventName + "/" + p.Name + "/" + e.UserIdentity.ARN, Account: e.UserIdentity.AccountID,
		Severity: sev, Types: []string{typeDefenseEvasion}, Count: 1, EventIDs: []string{e.EventID}, Time: e.EventTime,
		Title:       "Audit configuration changed: " + e.EventName,
		Description: fmt.Sprintf("%s called %s from %s.", orDash(e.UserIdentity.ARN), what, orDash(e.SourceIPAddress)),
		Resources:   []findings.Resource{principalResource(e.UserIdentity)},
		Fields:      map[string]string{"PrincipalArn": e.UserIdentity.ARN, "EventName": e.EventName, "TrailName": p.Name},
	}}
}
