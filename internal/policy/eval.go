package policy

import (
	"strings"

	"github.com/bulwark-security/bulwark/internal/arn"
)

// Effect is the outcome of an evaluation. Its String form is IAM's
// EvalDecision value ("allowed", "explicitDeny", "implicitDeny").
type Effect uint8

const (
	// ImplicitDeny is the zero value: nothing allowed the request.
	ImplicitDeny Effect = iota
	// Allow: the policies allow the request.
	Allow
	// ExplicitDeny: a Deny statement matched the request.
	ExplicitDeny
)

func (e Effect) String() string {
	switch e {
	case Allow:
		return "allowed"
	case ExplicitDeny:
		return "explicitDeny"
	}
	return "implicitDeny"
}

// Reason says which rule of the evaluation logic decided.
type Reason uint8

const (
	// ReasonNone is the zero value, never returned by Evaluate.
	ReasonNone Reason = iota
	// Allowed:
	ReasonIdentityAllow // identity-based policies (within boundary and session policies)
	ReasonResourceAllow // a same-account resource-based policy
	ReasonBothAllow     // cross-account: identity side and resource side
	ReasonRootUser      // the account root user in its own account
	// Denied:
	ReasonExplicitDeny    // a Deny statement matched; see Decision.Statements
	ReasonNoIdentityAllow // no identity-based policy allows the action
	ReasonNoBoundaryAllow // no permissions boundary allows the action
	ReasonNoSessionAllow  // no session policy allows the action
	ReasonNoResourceAllow // no resource-based policy allows the action
)

// String is worded to complete AWS's AccessDenied message, "... is not
// authorized to perform: A on resource: R because <reason>".
func (r Reason) String() string {
	switch r {
	case ReasonIdentityAllow:
		return "an identity-based policy allows the action"
	case ReasonResourceAllow:
		return "a resource-based policy allows the action"
	case ReasonBothAllow:
		return "an identity-based policy and a resource-based policy allow the action"
	case ReasonRootUser:
		return "the account root user is allowed by default"
	case ReasonExplicitDeny:
		return "of an explicit deny"
	case ReasonNoIdentityAllow:
		return "no identity-based policy allows the action"
	case ReasonNoBoundaryAllow:
		return "no permissions boundary allows the action"
	case ReasonNoSessionAllow:
		return "no session policy allows the action"
	case ReasonNoResourceAllow:
		return "no resource-based policy allows the action"
	}
	return "no policy allows the action"
}

// PolicyType says which role a policy played in a Set.
type PolicyType uint8

const (
	TypeIdentity PolicyType = iota
	TypeBoundary
	TypeSession
	TypeResource
)

func (t PolicyType) String() string {
	switch t {
	case TypeBoundary:
		return "permissions boundary"
	case TypeSession:
		return "session policy"
	case TypeResource:
		return "resource-based policy"
	}
	return "identity-based policy"
}

// StatementRef names one statement of one policy of a Set. It is small so
// that a Decision stays cheap to return.
type StatementRef struct {
	policy *Policy
	index  int32
	typ    PolicyType
}

// Policy is the policy holding the statement.
func (r StatementRef) Policy() *Policy { return r.policy }

// PolicyID is the policy's Options.ID.
func (r StatementRef) PolicyID() string {
	if r.policy == nil {
		return ""
	}
	return r.policy.id
}

// PolicyType is the role the policy played in the Set.
func (r StatementRef) PolicyType() PolicyType { return r.typ }

// Index is the zero-based position of the statement in the Statement array.
func (r StatementRef) Index() int { return int(r.index) }

// Sid is the statement's Sid, possibly empty.
func (r StatementRef) Sid() string {
	if r.policy == nil {
		return ""
	}
	return r.policy.stmts[r.index].sid
}

// PrincipalType classifies the caller.
type PrincipalType uint8

const (
	// PrincipalIAM is an IAM user, an assumed-role session or a federated
	// user session, told apart by ARN.
	PrincipalIAM PrincipalType = iota
	// PrincipalRoot is an account's root user.
	PrincipalRoot
	// PrincipalService is an AWS service principal (Principal.Service).
	PrincipalService
	// PrincipalFederated is a web identity or SAML provider assuming a role
	// (Principal.Federated).
	PrincipalFederated
	// PrincipalAnonymous is an unauthenticated caller.
	PrincipalAnonymous
)

// Principal describes the caller for principal matching.
type Principal struct {
	Type PrincipalType
	// ARN is the caller's own ARN: arn:aws:iam::A:user/path/name,
	// arn:aws:sts::A:assumed-role/name/session,
	// arn:aws:sts::A:federated-user/name or arn:aws:iam::A:root.
	ARN string
	// IssuerARN is, for temporary credentials, the IAM identity they were
	// issued for: the role's ARN (with path) for an assumed-role session,
	// the IAM user's ARN for a federated user.
	IssuerARN string
	// Account is the caller's 12-digit account id; empty for service,
	// federated and anonymous callers.
	Account       string
	Service       string // for PrincipalService, e.g. "ec2.amazonaws.com"
	Federated     string // for PrincipalFederated: provider name or ARN
	CanonicalUser string
}

// Request is what is being decided. Context may be nil (no keys). The
// Request and its Context must not change during Evaluate.
type Request struct {
	Action          string // "service:Action", case-insensitive
	Resource        string // the resource ARN, or "*" for actions without one
	ResourceAccount string // account owning the resource; empty means the caller's
	Principal       Principal
	Context         *Context
}

// Set is every policy that applies to one request; the zero Set allows
// nothing (except the root user in its own account). A nil Boundary means no
// permissions boundary; an empty Session means the caller is not using a
// session policy; Resource is the resource-based policy (the trust policy
// for sts:AssumeRole*), or nil.
type Set struct {
	Identity []*Policy
	Boundary *Policy
	Session  []*Policy
	Resource *Policy
	// RequireResourceAllow makes the resource-based policy's allow
	// necessary even within one account, as for KMS key policies. It is
	// implied when Resource is a trust policy (KindTrust): a role can only
	// be assumed if its trust policy allows it.
	RequireResourceAllow bool
}

const (
	maxDeciding = 4
	maxMissing  = 8
)

// Decision is the result of Evaluate. It is a plain value: evaluating
// allocates nothing, and the strings it holds belong to the policies and
// request.
type Decision struct {
	Effect Effect
	Reason Reason

	nStmts   uint8
	nMissing uint8
	stmts    [maxDeciding]StatementRef
	missing  [maxMissing]*string // keys owned by the policies
	// MissingTruncated is set when more keys were missing than Decision
	// holds (8); use Policy.ConditionKeys for the full list.
	MissingTruncated bool
}

// Allowed reports whether Effect is Allow.
func (d *Decision) Allowed() bool { return d.Effect == Allow }

// Statements returns the statements that decided: the matching Deny for an
// explicit deny, or the Allow statements of each policy type that had to
// allow. It is empty for an implicit deny.
func (d *Decision) Statements() []StatementRef { return d.stmts[:d.nStmts] }

// MissingKeys lists the context keys that conditions or policy variables of
// matching statements needed but the request did not carry (IAM's
// MissingContextValues). Conditions of a statement are ANDed and evaluation
// stops at the first false one, so a key is listed when its absence was
// observed; Policy.ConditionKeys gives every key a policy reads. It
// allocates; AppendMissingKeys need not.
func (d *Decision) MissingKeys() []string { return d.AppendMissingKeys(nil) }

// AppendMissingKeys appends the missing keys to dst.
func (d *Decision) AppendMissingKeys(dst []string) []string {
	for _, k := range d.missing[:d.nMissing] {
		dst = append(dst, *k)
	}
	return dst
}

func (d *Decision) addStmt(r StatementRef) {
	if int(d.nStmts) < maxDeciding {
		d.stmts[d.nStmts] = r
		d.nStmts++
	}
}

type pmatch uint8

const (
	pmNone    pmatch = iota
	pmAccount        // the caller's account was named: a delegation, not a grant
	pmIssuer         // the role (or user) behind the session was named
	pmDirect         // the caller itself, "*", or a service/federated principal
)

type evaluator struct {
	boundary bool // the Set has a permissions boundary
	// full (Simulate only) evaluates every condition instead of stopping
	// at the first false one, and collects every missing key in sim.
	full bool
	sim  *simState
	req  *Request
	ctx  *Context
	svc  string
	name string
	hash uint64
	bits uint64 // svcBits(hash)
	// colon is false for a malformed action without a service prefix,
	// which only "*" (or a wildcard service pattern) can match.
	colon bool
	// loose makes an unresolvable policy variable match like "*", to ask
	// whether a pattern could match for some value of the variable.
	loose bool
	dec   *Decision
}

func (ev *evaluator) missing(key *string) {
	if ev.full {
		ev.sim.add(*key)
		return
	}
	d := ev.dec
	for i := 0; i < int(d.nMissing); i++ {
		if strings.EqualFold(*d.missing[i], *key) {
			return
		}
	}
	if int(d.nMissing) == maxMissing {
		d.MissingTruncated = true
		return
	}
	d.missing[d.nMissing] = key
	d.nMissing++
}

func (ev *evaluator) variable(t *tok) (string, bool) {
	// A multivalued key never substitutes, whatever number of values the
	// request holds (IAM User Guide, "Single-valued vs. multivalued
	// context keys": a multivalued context key cannot be a policy
	// variable). It is not reported missing: supplying it would not help.
	if t.multi {
		if t.hasDef {
			return t.def, true
		}
		return "", false
	}
	start, end, present := ev.ctx.find(t.s, t.hash)
	if present && end-start == 1 {
		return ev.ctx.vals[start], true
	}
	// A key holding several values does not substitute either.
	if t.hasDef {
		return t.def, true
	}
	// IAM User Guide, "Policy variables with no value": the variable is
	// unresolvable; see the package documentation for what that does.
	if !present {
		ev.missing(&t.s)
	}
	return "", false
}

// scanResult is what one policy contributes.
type scanResult struct {
	allow  int32 // statement index of an Allow that matched, or -1
	kind   pmatch
	denied bool
}

// Evaluate decides a request following AWS's policy evaluation logic (see
// the package documentation). It allocates nothing.
func Evaluate(s *Set, r *Request) Decision {
	var d Decision
	ev := evaluator{req: r, ctx: r.Context, dec: &d, boundary: s.Boundary != nil}
	ev.svc, ev.name, ev.colon = strings.Cut(r.Action, ":")
	ev.hash = keyHash(ev.svc)
	ev.bits = svcBits(ev.hash)

	// 1. Explicit deny in any policy wins; collect the allows on the way.
	var idAllow, bAllow, sAllow, rAllow StatementRef
	var idOK, bOK, sOK bool
	for _, p := range s.Identity {
		if p == nil {
			continue
		}
		res := ev.scan(p, TypeIdentity, !idOK)
		if res.denied {
			return d
		}
		if !idOK && res.allow >= 0 {
			idOK, idAllow = true, ref(p, TypeIdentity, res.allow)
		}
	}
	if s.Boundary != nil {
		res := ev.scan(s.Boundary, TypeBoundary, true)
		if res.denied {
			return d
		}
		if res.allow >= 0 {
			bOK, bAllow = true, ref(s.Boundary, TypeBoundary, res.allow)
		}
	}
	for _, p := range s.Session {
		if p == nil {
			continue
		}
		res := ev.scan(p, TypeSession, !sOK)
		if res.denied {
			return d
		}
		if !sOK && res.allow >= 0 {
			sOK, sAllow = true, ref(p, TypeSession, res.allow)
		}
	}
	rKind := pmNone
	if s.Resource != nil {
		res := ev.scan(s.Resource, TypeResource, true)
		if res.denied {
			return d
		}
		if res.allow >= 0 {
			rKind, rAllow = res.kind, ref(s.Resource, TypeResource, res.allow)
		}
	}

	pr := &r.Principal
	sameAccount := r.ResourceAccount == "" || r.ResourceAccount == pr.Account
	hasBoundary, hasSession := s.Boundary != nil, len(s.Session) > 0
	required := s.RequireResourceAllow || (s.Resource != nil && s.Resource.kind == KindTrust)

	switch {
	case pr.Type == PrincipalRoot && sameAccount && !(required && rKind == pmNone):
		// The root user has full access to its own account unless
		// explicitly denied, or unless a trust or key policy must allow
		// and does not.
		d.Effect, d.Reason = Allow, ReasonRootUser
		return d
	case pr.Account == "" || pr.Type == PrincipalRoot:
		// Callers without identity policies (services, federated
		// providers, anonymous, a root user across accounts) depend on the
		// resource-based policy alone.
		if rKind == pmDirect || (pr.Type == PrincipalRoot && rKind != pmNone) {
			d.Effect, d.Reason = Allow, ReasonResourceAllow
			d.addStmt(rAllow)
			return d
		}
		d.Reason = ReasonNoResourceAllow
		return d
	}

	if sameAccount && rKind == pmDirect {
		// A same-account resource-based policy naming the user or the
		// session itself grants access even past an implicit deny in
		// identity policies, the boundary or session policies.
		d.Effect, d.Reason = Allow, ReasonResourceAllow
		d.addStmt(rAllow)
		return d
	}
	// Identity side: identity allow (or, same account, a resource policy
	// naming the role), intersected with boundary and session policies.
	viaResource := sameAccount && rKind == pmIssuer
	switch {
	case !idOK && !viaResource:
		d.Reason = ReasonNoIdentityAllow
		return d
	case hasBoundary && !bOK:
		d.Reason = ReasonNoBoundaryAllow
		return d
	case hasSession && !sOK:
		d.Reason = ReasonNoSessionAllow
		return d
	}
	if (!sameAccount || required) && rKind == pmNone {
		// Cross-account (or a trust or key policy): the resource side
		// must allow as well.
		d.Reason = ReasonNoResourceAllow
		return d
	}
	d.Effect = Allow
	switch {
	case !sameAccount || (required && idOK):
		d.Reason = ReasonBothAllow
	case idOK:
		d.Reason = ReasonIdentityAllow
	default:
		d.Reason = ReasonResourceAllow
	}
	if idOK {
		d.addStmt(idAllow)
	}
	if hasBoundary {
		d.addStmt(bAllow)
	}
	if hasSession {
		d.addStmt(sAllow)
	}
	if rKind != pmNone && (!sameAccount || required || !idOK) {
		d.addStmt(rAllow)
	}
	return d
}

// EvaluatePolicy decides a request against one policy alone, as IAM's
// SimulateCustomPolicy does: an identity-kind policy is the only identity
// policy, a resource-kind one the only resource-based policy.
func EvaluatePolicy(p *Policy, r *Request) Decision {
	var s Set
	if p.kind.IsResourceBased() {
		s.Resource = p
	} else {
		s.Identity = []*Policy{p}
	}
	return Evaluate(&s, r)
}

func ref(p *Policy, t PolicyType, i int32) StatementRef {
	return StatementRef{policy: p, index: i, typ: t}
}

// scan looks at the statements that can match the action: those filed
// under its service, then those that match any service. On a matching Deny
// it records the explicit deny in the decision. Allow statements are only
// tried when needAllow is set (no earlier policy of the same type allowed).
func (ev *evaluator) scan(p *Policy, t PolicyType, needAllow bool) scanResult {
	res := scanResult{allow: -1, kind: pmNone}
	if !needAllow {
		res.kind = pmDirect // nothing to find but denies
	}
	if p.svcMask&ev.bits != ev.bits {
		if len(p.anySvc) > 0 {
			ev.scanList(p, t, p.anySvc, &res)
		}
		return res
	}
	for g := range p.groups {
		grp := &p.groups[g]
		if grp.hash == ev.hash && eqLower(grp.svc, ev.svc) {
			if ev.scanList(p, t, grp.stmts, &res) {
				return res
			}
			break
		}
	}
	ev.scanList(p, t, p.anySvc, &res)
	return res
}

func (ev *evaluator) scanList(p *Policy, t PolicyType, list []int32, res *scanResult) bool {
	for _, i := range list {
		st := &p.stmts[i]
		if !st.deny && res.kind == pmDirect {
			continue // nothing better to find; only denies matter now
		}
		pm, ok := ev.applies(st)
		if !ok {
			continue
		}
		if st.deny {
			res.denied = true
			ev.dec.Effect, ev.dec.Reason = ExplicitDeny, ReasonExplicitDeny
			ev.dec.nStmts = 0
			ev.dec.addStmt(ref(p, t, i))
			return true
		}
		if res.allow < 0 || pm > res.kind {
			res.allow, res.kind = i, pm
		}
	}
	return false
}

// applies reports whether a statement matches the request, and for
// resource-based statements how the principal was matched.
func (ev *evaluator) applies(st *cstmt) (pmatch, bool) {
	if ev.actionMatches(st) == st.notAction {
		return pmNone, false
	}
	if st.hasRes {
		any := false
		for i := range st.res {
			r := &st.res[i]
			if r.match(ev.req.Resource, ev) {
				any = true
				break
			}
			// NotResource holds only if the resource is provably outside
			// every entry. An entry with an unresolvable variable that
			// might hold the resource proves nothing: the statement is
			// invalid and does not apply, whatever its effect (see the
			// package documentation).
			if st.notRes && r.hasVar && r.mayMatch(ev.req.Resource, ev) {
				return pmNone, false
			}
		}
		if any == st.notRes {
			return pmNone, false
		}
	}
	pm := pmDirect
	if st.princ != nil {
		if st.notPrinc {
			// IAM User Guide, "NotPrincipal": a Deny with NotPrincipal
			// always denies an IAM principal that has a permissions
			// boundary, whatever the element lists.
			bounded := ev.boundary && ev.req.Principal.Type == PrincipalIAM
			if !bounded && st.princ.excludes(&ev.req.Principal) {
				return pmNone, false
			}
		} else if pm = st.princ.match(&ev.req.Principal); pm == pmNone {
			return pmNone, false
		}
	}
	ok := true
	for i := range st.conds {
		if !st.conds[i].eval(ev) {
			if !ev.full {
				return pmNone, false
			}
			ok = false
		}
	}
	return pm, ok
}

func (ev *evaluator) actionMatches(st *cstmt) bool {
	for i := range st.actions {
		a := &st.actions[i]
		switch {
		case a.all:
			return true
		case a.svcWild:
			if arn.GlobFold(a.raw, ev.req.Action) {
				return true
			}
		case ev.colon && (a.svcRaw == ev.svc || eqLower(a.svc, ev.svc)):
			switch {
			case a.namePrefix:
				n := len(a.name) - 1
				if len(ev.name) >= n && eqLower(a.name[:n], ev.name[:n]) {
					return true
				}
			case a.nameWild:
				if arn.GlobFold(a.name, ev.name) {
					return true
				}
			case a.nameRaw == ev.name || eqLower(a.name, ev.name):
				return true
			}
		}
	}
	return false
}

// match implements the Principal element (IAM User Guide, "AWS JSON policy
// elements: Principal"): "*" is everyone; an account id or account root ARN
// names every principal of that account (a delegation to its identity
// policies); a role ARN matches the role's sessions; user, session and
// federated-user ARNs match exactly.
func (c *cprincipals) match(pr *Principal) pmatch {
	if c.any {
		return pmDirect
	}
	best := pmNone
	if pr.Type == PrincipalIAM || pr.Type == PrincipalRoot {
		for _, a := range c.arns {
			if a == pr.ARN {
				return pmDirect
			}
			if pr.IssuerARN != "" && a == pr.IssuerARN {
				best = pmIssuer
			}
		}
		for _, a := range c.accounts {
			if a == pr.Account && pr.Account != "" {
				if pr.Type == PrincipalRoot {
					return pmDirect
				}
				best = max(best, pmAccount)
			}
		}
	}
	switch pr.Type {
	case PrincipalService:
		for _, s := range c.services {
			if strings.EqualFold(s, pr.Service) {
				return pmDirect
			}
		}
	case PrincipalFederated:
		for _, s := range c.federated {
			if s == pr.Federated {
				return pmDirect
			}
		}
	}
	if pr.CanonicalUser != "" {
		for _, s := range c.canonical {
			if s == pr.CanonicalUser {
				return pmDirect
			}
		}
	}
	return best
}

// excludes reports whether a NotPrincipal list exempts the caller. AWS
// evaluates the caller under each of its identities (session, role,
// account), so every one of them must be listed (IAM User Guide,
// "NotPrincipal": specify the account ARN, and for a role session the role
// and the session too).
func (c *cprincipals) excludes(pr *Principal) bool {
	if c.any {
		return true
	}
	forms := 0
	listed := func(ok bool) bool {
		forms++
		return ok
	}
	switch pr.Type {
	case PrincipalIAM, PrincipalRoot:
		if pr.ARN != "" && pr.Type == PrincipalIAM && !listed(contains(c.arns, pr.ARN)) {
			return false
		}
		if pr.IssuerARN != "" && !listed(contains(c.arns, pr.IssuerARN)) {
			return false
		}
		if pr.Account != "" && !listed(contains(c.accounts, pr.Account)) {
			return false
		}
	case PrincipalService:
		if !listed(containsFold(c.services, pr.Service)) {
			return false
		}
	case PrincipalFederated:
		if !listed(contains(c.federated, pr.Federated)) {
			return false
		}
	}
	return forms > 0
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// Simulation is the detailed account IAM's SimulatePrincipalPolicy and
// SimulateCustomPolicy return. Computing it allocates; use Evaluate on the
// request path.
type Simulation struct {
	Decision Decision
	// Matched lists every statement that applies to the request, Allow
	// and Deny, in Set order (identity, boundary, session, resource).
	Matched []StatementRef
	// MissingKeys lists every context key read by the conditions or
	// policy variables of statements whose action, resource and principal
	// match, that the request does not carry.
	MissingKeys []string
	// BoundaryAllows is false when a permissions boundary is set and none
	// of its statements allows the request.
	BoundaryAllows bool
}

// Simulate decides like Evaluate and also reports every matching statement
// and every missing context key.
func Simulate(s *Set, r *Request) Simulation {
	sim := Simulation{Decision: Evaluate(s, r), BoundaryAllows: s.Boundary == nil}
	var scratch Decision
	state := &simState{}
	ev := evaluator{req: r, ctx: r.Context, dec: &scratch, boundary: s.Boundary != nil, full: true, sim: state}
	ev.svc, ev.name, ev.colon = strings.Cut(r.Action, ":")
	walk := func(p *Policy, t PolicyType) {
		if p == nil {
			return
		}
		for i := range p.stmts {
			st := &p.stmts[i]
			if _, ok := ev.applies(st); ok {
				sim.Matched = append(sim.Matched, ref(p, t, int32(i)))
				if t == TypeBoundary && !st.deny {
					sim.BoundaryAllows = true
				}
			}
		}
	}
	for _, p := range s.Identity {
		walk(p, TypeIdentity)
	}
	walk(s.Boundary, TypeBoundary)
	for _, p := range s.Session {
		walk(p, TypeSession)
	}
	walk(s.Resource, TypeResource)
	sim.MissingKeys = state.missing
	return sim
}

type simState struct{ missing []string }

func (s *simState) add(key string) {
	for _, k := range s.missing {
		if strings.EqualFold(k, key) {
			return
		}
	}
	s.missing = append(s.missing, key)
}
